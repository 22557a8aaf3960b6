from srm_tui.entry import main

main()
