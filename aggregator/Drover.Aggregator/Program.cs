using Drover.Aggregator;

return await AggregatorHost.RunAsync(args);
