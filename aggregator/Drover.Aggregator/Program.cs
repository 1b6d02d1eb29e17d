using Drover.Aggregator;
using Drover.Aggregator.Security;

return args is ["certs", .. var rest]
    ? CertsCommand.Run(rest, Console.Out, Console.Error, DateTimeOffset.UtcNow)
    : await AggregatorHost.RunAsync(args);
