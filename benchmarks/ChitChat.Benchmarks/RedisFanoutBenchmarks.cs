using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using ChitChat.Redis;
using ChitChat.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChitChat.Benchmarks;

/// <summary>
/// Publish on node A, delivery to subscribers on node B through a real local redis-server that <see cref="Setup"/> starts on a
/// free loopback port (stopped by <see cref="Cleanup"/>). Each operation publishes <see cref="Batch"/> events and waits until
/// node B delivered all of them to each of its <see cref="Subscribers"/> subscribers.
/// Run: <c>dotnet run -c Release --project benchmarks/ChitChat.Benchmarks -- --filter '*RedisFanout*'</c>.
/// </summary>
[MemoryDiagnoser]
public class RedisFanoutBenchmarks
{
    private const string Room = "bench";
    private readonly List<IAsyncDisposable> _disposables = [];
    private Process? _server;
    private string? _directory;
    private RedisTransport _publisher = null!;
    private long _delivered;
    private long _target;
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private UserTyping _event = null!;

    /// <summary>Gets or sets how many events one operation publishes.</summary>
    [Params(100)]
    public int Batch { get; set; }

    /// <summary>Gets or sets how many subscribers node B has in the room.</summary>
    [Params(1, 10)]
    public int Subscribers { get; set; }

    /// <summary>Starts redis-server and two nodes.</summary>
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    /// <summary>Stops the nodes and redis-server.</summary>
    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    /// <summary>Publishes a batch on node A and waits until node B delivered it to every subscriber.</summary>
    /// <returns>A task that completes when delivered.</returns>
    [Benchmark]
    public async Task PublishAndDeliverOnSecondNode()
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _delivered, 0);
        Volatile.Write(ref _target, (long)Batch * Subscribers);
        for (var i = 0; i < Batch; i++)
        {
            await _publisher.PublishAsync(_event);
        }

        await _done.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task SetupAsync()
    {
        var port = FreePort();
        _directory = Directory.CreateTempSubdirectory("chitchat-bench-redis-").FullName;
        var start = new ProcessStartInfo("/usr/bin/redis-server") { UseShellExecute = false };
        foreach (var argument in new[]
        {
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", _directory, "--logfile", Path.Combine(_directory, "redis.log"),
        })
        {
            start.ArgumentList.Add(argument);
        }

        _server = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (apt-get install -y redis-server).");
        await WaitForPingAsync(port);

        var options = Options.Create(new RedisChitChatOptions { Configuration = $"127.0.0.1:{port}" });
        _publisher = await NodeAsync(options);
        var receiver = await NodeAsync(options);
        for (var i = 0; i < Subscribers; i++)
        {
            _disposables.Add(await receiver.SubscribeAsync(Room, OnEvent));
        }

        _event = new UserTyping(Room, Guid.NewGuid(), "bench");
    }

    private ValueTask OnEvent(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _delivered) == Volatile.Read(ref _target))
        {
            _done.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }

    private async Task<RedisTransport> NodeAsync(IOptions<RedisChitChatOptions> options)
    {
        var connection = new RedisConnectionProvider(options, NullLogger<RedisConnectionProvider>.Instance);
        await connection.GetAsync();
        var transport = new RedisTransport(connection, options, NullLogger<RedisTransport>.Instance);
        _disposables.Insert(0, transport);
        _disposables.Add(connection);
        return transport;
    }

    private async Task CleanupAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        _disposables.Clear();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPingAsync(int port)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                if (await stream.ReadAsync(buffer) > 0 && buffer[0] == (byte)'+')
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"redis-server did not answer PING on port {port}.");
    }
}
