using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Drover.Agent.Shims;

namespace Drover.Agent.Tests.Shims;

public class H2cPrefaceDetectorTests
{
    private static async Task<(bool IsHttp2, byte[] Left)> DetectAsync(string input, int chunk, bool complete)
    {
        var pipe = new Pipe();
        var bytes = Encoding.ASCII.GetBytes(input);
        var detecting = H2cPrefaceDetector.StartsWithPrefaceAsync(pipe.Reader, CancellationToken.None);
        for (var i = 0; i < bytes.Length && !detecting.IsCompleted; i += chunk)
        {
            await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
        }

        if (complete)
        {
            await pipe.Writer.CompleteAsync();
        }

        var isHttp2 = await detecting.WaitAsync(TimeSpan.FromSeconds(5));

        // Nothing was consumed: what the next reader (Kestrel) gets starts at the first byte.
        var left = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        return (isHttp2, left.Buffer.ToArray());
    }

    public static TheoryData<string, int, bool, bool> Cases => new()
    {
        { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04", 1, false, true },
        { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 7, false, true },
        { "POST /v1/invoke/counter HTTP/1.1\r\nHost: x\r\n\r\n", 1, false, false },
        { "PRI * HTTP/1.1\r\n\r\n", 1, false, false },
        { "GET / HTTP/1.0\r\n\r\n", 64, false, false },
        { "PRI * HTTP/2", 3, true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task StartsWithPreface_FedInChunks_DecidesAndConsumesNothing(string input, int chunk, bool complete, bool expected)
    {
        var (isHttp2, left) = await DetectAsync(input, chunk, complete);

        Assert.Equal(expected, isHttp2);
        Assert.Equal(Encoding.ASCII.GetBytes(input)[..left.Length], left);
        Assert.True(left.Length > 0);
    }
}
