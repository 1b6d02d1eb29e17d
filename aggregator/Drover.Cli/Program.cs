using Drover.Cli;

return await DroverCtl.RunAsync(args, CliHost.FromProcess());
