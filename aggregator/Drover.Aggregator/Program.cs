using Drover.Aggregator;
using Drover.Aggregator.Access;

// "drover-aggregator tokens ..." manages the API tokens file; anything else runs the aggregator.
return args is ["tokens", .. var rest]
    ? TokensCommand.Run(rest, Console.Out, Console.Error)
    : await AggregatorHost.RunAsync(args);
