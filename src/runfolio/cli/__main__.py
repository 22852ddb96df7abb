from runfolio.cli import main

main()
