"""Stage-1 foundations: the maths and classic ML written from scratch in NumPy."""
