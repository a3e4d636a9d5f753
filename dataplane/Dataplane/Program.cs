// The dataplane binary. Everything it does starts in Dataplane.Cli.CommandLine, which tests run in-process.
return Dataplane.Cli.CommandLine.Run(args, Console.Out, Console.Error);
