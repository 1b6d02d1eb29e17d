using Drover.Agent;

if (ProgramVersion.TryPrint(args, "drover-agent", typeof(AgentHost).Assembly, Console.Out))
{
    return 0;
}

return await AgentHost.RunAsync(args);
