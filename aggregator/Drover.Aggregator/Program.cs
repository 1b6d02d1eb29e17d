using Drover.Aggregator;
using Drover.Aggregator.Access;
using Drover.Aggregator.Security;

// "drover-aggregator tokens ..." manages the API tokens file, "certs ..." the link's certificates;
// anything else runs the aggregator.
return args switch
{
    ["--version"] => ProgramVersion.TryPrint(args, "drover-aggregator", typeof(AggregatorHost).Assembly, Console.Out) ? 0 : 1,
    ["tokens", .. var rest] => TokensCommand.Run(rest, Console.Out, Console.Error),
    ["certs", .. var rest] => CertsCommand.Run(rest, Console.Out, Console.Error, DateTimeOffset.UtcNow),
    _ => await AggregatorHost.RunAsync(args),
};
