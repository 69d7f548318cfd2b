"""Stage 1 — maths from scratch: PCA, logistic regression + SGD, theory checks, write-ups."""
