from srm_tui.cli import main

main()
