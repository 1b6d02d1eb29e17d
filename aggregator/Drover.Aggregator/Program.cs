using Drover.Aggregator;
using Drover.Aggregator.Access;
using Drover.Aggregator.Security;

// "drover-aggregator tokens ..." manages the API tokens file, "certs ..." the link's certificates;
// anything else runs the aggregator.
return args switch
{
    ["tokens", .. var rest] => TokensCommand.Run(rest, Console.Out, Console.Error),
    ["certs", .. var rest] => CertsCommand.Run(rest, Console.Out, Console.Error, DateTimeOffset.UtcNow),
    _ => await AggregatorHost.RunAsync(args),
};
