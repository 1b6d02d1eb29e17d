using Drover.Agent;

return await AgentHost.RunAsync(args);
