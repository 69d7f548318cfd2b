from ai_roadmap.cli import main

main()
