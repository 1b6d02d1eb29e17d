using System.Text.Json;

namespace Drover.Cli.Tests.Views;

/// <summary>Answers of the aggregator's API as README's "HTTP API" shows them, for the views to render.</summary>
internal static class Canned
{
    public const string Nodes = """
        [
          {"nodeId":"gpu-b","serverNumber":2,"port":7412,"cluster":"c1","survival":"lost","lastHeartbeatAgeMs":125000,"connected":false,"lastSequence":9,"labels":{},"agentVersion":"0.1.0","hostname":"b","gpuCount":2,"gpuTelemetry":"available","address":"10.0.0.2:7412","weight":100,"weightSource":"agent","priority":0,"prioritySource":"agent","probeRoundTripMs":null,"survives":false},
          {"nodeId":"gpu-a","serverNumber":1,"port":7411,"cluster":"c1","survival":"alive","lastHeartbeatAgeMs":412,"connected":true,"lastSequence":80,"labels":{"rack":"r1"},"agentVersion":"0.1.0","hostname":"a","gpuCount":8,"gpuTelemetry":"available","address":"10.0.0.1:7411","weight":250,"weightSource":"override","priority":-5,"prioritySource":"agent","probeRoundTripMs":0.4,"survives":true}
        ]
        """;

    public const string Gpus = """
        [
          {"index":0,"uuid":"GPU-aaaa","name":"NVIDIA H100 80GB HBM3","pciBusId":"00000000:01:00.0","memoryTotalBytes":85899345920,"memoryUsedBytes":42949672960,"memoryFreeBytes":42949672960,"utilizationGpuPercent":73,"utilizationMemoryPercent":40,"temperatureC":61,"powerMilliwatts":412000,"migEnabled":false,"mig":null,"health":"ok","healthReason":"","xid":0,"commandQueueLength":3.25,"commandQueueSource":"measured","commandQueueAgeMs":120,"sampleAgeMs":300},
          {"index":1,"uuid":"GPU-bbbb","name":"NVIDIA H100 80GB HBM3","memoryTotalBytes":85899345920,"memoryUsedBytes":0,"utilizationGpuPercent":0,"temperatureC":30,"powerMilliwatts":70000,"migEnabled":true,"mig":null,"health":"unhealthy","healthReason":"XID 79: fallen off the bus","xid":79,"commandQueueLength":0,"commandQueueSource":"unknown"},
          {"index":2,"uuid":"MIG-cccc","name":"NVIDIA H100 80GB HBM3 MIG 1g.10gb","memoryTotalBytes":10737418240,"memoryUsedBytes":1073741824,"utilizationGpuPercent":5,"temperatureC":30,"powerMilliwatts":70000,"migEnabled":false,"mig":{"parentUuid":"GPU-bbbb","profile":"1g.10gb","gpuInstanceId":9,"computeInstanceId":0},"health":"ok","healthReason":"","xid":0,"commandQueueLength":1,"commandQueueSource":"estimated"}
        ]
        """;

    public const string Clusters = """
        {"degraded":false,"reason":"","clusters":[
          {"name":"c1","weight":100,"priority":0,"role":"master","group":"default","mode":"all-masters","total":3,"survivors":1,"minSurvivors":2,"minSurvivorsFixed":null,"minimumSurvivalRatio":0.5,"health":"unhealthy","healthyForMs":0,"servingFor":[],"servedBy":["c2"],"trafficShare":0},
          {"name":"c2","weight":100,"priority":0,"role":"master","group":"default","mode":"all-masters","total":3,"survivors":3,"minSurvivors":2,"minSurvivorsFixed":null,"minimumSurvivalRatio":0.5,"health":"healthy","healthyForMs":60000,"servingFor":["c1"],"servedBy":[],"trafficShare":1}
        ]}
        """;

    public const string Leader = """
        {"aggregatorId":"agg-2-41","role":"follower","store":"postgres://db:5432/drover","storeId":"c8d8","term":7,
         "leader":{"aggregatorId":"agg-1-7","apiUrl":"https://agg-1:7400","linkUrl":"https://agg-1:7401","since":"2026-12-05T02:20:00+00:00"}}
        """;

    public const string Functions = """
        [
          {"name":"resize","version":"3","runtime":{"type":"process","command":"/opt/resize","args":["--fast"],"env":{"KEY":"(hidden)"},"workingDirectory":""},"commitIntervalSeconds":10,"placement":null,"margin":1,"minInstances":1,"maxInstances":4,"gpuMemoryBytes":0,"scaleDownWindowSeconds":60,"gpu":"any","shimMode":"http","slo":2,"queueLength":64,"timeoutMs":30000,"eventHeaders":[],"healthPath":"","public":true},
          {"name":"counter","version":"1","runtime":{"type":"process","command":"/opt/counter","args":[],"env":{},"workingDirectory":""},"commitIntervalSeconds":10,"placement":"every-node","margin":0,"minInstances":1,"maxInstances":null,"gpuMemoryBytes":0,"scaleDownWindowSeconds":60,"gpu":"any","shimMode":"http","slo":1,"queueLength":4,"timeoutMs":30000,"eventHeaders":[],"healthPath":"","public":false}
        ]
        """;

    public const string Function = """
        {"name":"resize","version":"3","runtime":{"type":"process","command":"/opt/resize","args":[],"env":{},"workingDirectory":""},"placement":"autoscale","margin":1,"minInstances":1,"maxInstances":4,"gpu":"any","shimMode":"http","slo":2,"queueLength":64,"timeoutMs":30000,"public":false,
         "requestQueueLength":7,"queued":3,"inFlight":4,"nodes":[],
         "instances":[
           {"instanceId":"resize-1","nodeId":"gpu-a","state":"running","pid":4242,"port":41000,"restarts":0,"stateVersion":12,"version":"3","lastExitCode":0,"lastSignal":0,"reason":"","ready":true,"gpuUuid":"GPU-aaaa"},
           {"instanceId":"resize-2","nodeId":"gpu-b","state":"starting","pid":0,"port":0,"restarts":1,"stateVersion":0,"version":"3","lastExitCode":1,"lastSignal":0,"reason":"exited with code 1","ready":false,"gpuUuid":"GPU-bbbb"}
         ],
         "desiredInstances":3,"runningInstances":1}
        """;

    public static string Decisions(int count) => "[" + string.Join(",", Enumerable.Range(1, count).Select(i =>
        $$"""{"at":"2025-01-01T00:00:{{i:00}}+00:00","kind":"scale","function":"resize","instanceId":"resize-{{i}}","fromNodeId":null,"toNodeId":"gpu-a","restoredStateVersion":null,"reason":"decision number {{i}}","outcome":"started","inputs":null}""")) + "]";

    public const string Services = """
        [{"name":"web","version":"2","runtime":{"type":"process","command":"/opt/web","args":["-p","80"]},"instanceCount":3,"routingField":{"header":"X-User"},"policy":"least-in-flight","slo":8,"public":false},
         {"name":"api","version":"1","runtime":{"type":"process","command":"/opt/api"},"instanceCount":1,"routingField":null,"policy":"power-of-two-choices","slo":1,"public":true}]
        """;

    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
