import StowageCLI

StowageCommand.main()
