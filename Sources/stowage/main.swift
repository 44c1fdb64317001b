import StowageCLI

StowageCommand.run(Array(CommandLine.arguments.dropFirst()))
