using ChitChat.Redis.Tests.Infrastructure;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChitChat.Redis.Tests;

/// <summary>Redis crashes and restarts; each test runs its own redis-server.</summary>
public sealed class RedisFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Killing_Redis_while_publishing_degrades_to_local_delivery_and_a_restart_restores_cross_node_delivery()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await server.StartAsync().WaitAsync(Timeout);
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var a = await nodes.ConnectedTransportAsync();
        var b = await nodes.ConnectedTransportAsync();
        var room = "failover-" + Guid.NewGuid().ToString("N")[..8];
        var local = new EventRecorder();
        var remote = new EventRecorder();
        await using var localSubscription = await a.SubscribeAsync(room, local.Handle).AsTask().WaitAsync(Timeout);
        await using var remoteSubscription = await b.SubscribeAsync(room, remote.Handle).AsTask().WaitAsync(Timeout);

        await a.PublishAsync(EventRecorder.Typing(room, "before")).AsTask().WaitAsync(Timeout);
        await remote.ExpectAsync(EventRecorder.Named("before"), "cross-node delivery before the crash");
        await local.ExpectAsync(EventRecorder.Named("before"), "local delivery before the crash");

        // Keep publishing while Redis dies: no publish may throw or hang.
        using var stopPublishing = new CancellationTokenSource();
        var published = 0;
        var publisher = Task.Run(async () =>
        {
            while (!stopPublishing.IsCancellationRequested)
            {
                await a.PublishAsync(EventRecorder.Typing(room, "loop")).AsTask().WaitAsync(Timeout);
                Interlocked.Increment(ref published);
                await Task.Yield();
            }
        });

        await Poll.UntilAsync(() => Volatile.Read(ref published) > 10, "the publisher runs before the crash");
        server.Kill();
        await Poll.UntilAsync(() => a.Status == TransportStatus.Degraded && b.Status == TransportStatus.Degraded, "both nodes report Degraded after the crash");
        var afterCrash = Volatile.Read(ref published);
        await Poll.UntilAsync(() => Volatile.Read(ref published) > afterCrash + 10, "publishing goes on while Redis is down");
        await stopPublishing.CancelAsync();
        await publisher.WaitAsync(Timeout);

        for (var i = 0; i < 5; i++)
        {
            await a.PublishAsync(EventRecorder.Typing(room, $"during-{i}")).AsTask().WaitAsync(Timeout);
            await local.ExpectAsync(EventRecorder.Named($"during-{i}"), $"local delivery {i} while Redis is down");
        }

        Assert.Equal(TransportStatus.Degraded, a.Status);

        await server.RestartAsync().WaitAsync(Timeout);
        await Poll.UntilAsync(() => a.Status == TransportStatus.Healthy && b.Status == TransportStatus.Healthy, "both nodes report Healthy after the restart");

        await ProbeAsync(a, remote, room, "a-to-b");
        await ProbeAsync(b, local, room, "b-to-a");
    }

    [Fact]
    public async Task A_host_starts_while_Redis_is_down_delivers_locally_and_joins_the_others_once_Redis_is_up()
    {
        await using var server = RedisServerFixture.CreateUnstarted();
        await using var nodes = new RedisTestNodes(server.ConnectionString);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddChitChat().UseRedisTransport(o =>
        {
            o.Configuration = server.ConnectionString;
            o.KeyPrefix = nodes.KeyPrefix;
        });
        using var host = builder.Build();

        await host.StartAsync().WaitAsync(Timeout);
        try
        {
            var transport = Assert.IsType<RedisTransport>(host.Services.GetRequiredService<IChatTransport>());
            var room = "late-" + Guid.NewGuid().ToString("N")[..8];
            var received = new EventRecorder();
            await using var subscription = await transport.SubscribeAsync(room, received.Handle).AsTask().WaitAsync(Timeout);
            Assert.Equal(TransportStatus.Degraded, transport.Status);

            await transport.PublishAsync(EventRecorder.Typing(room, "local-only")).AsTask().WaitAsync(Timeout);
            await received.ExpectAsync(EventRecorder.Named("local-only"), "local delivery while Redis was never reachable");

            await server.StartAsync().WaitAsync(Timeout);
            await Poll.UntilAsync(() => transport.Status == TransportStatus.Healthy, "the host's transport reports Healthy once Redis is up");

            var other = await nodes.ConnectedTransportAsync();
            await ProbeAsync(other, received, room, "to-late-host");
        }
        finally
        {
            await host.StopAsync().WaitAsync(Timeout);
        }
    }

    private static async Task ProbeAsync(IChatTransport publisher, EventRecorder receiver, string room, string label)
    {
        var attempt = 0;
        await Poll.UntilAsync(
            async () =>
            {
                var name = $"{label}-{attempt++}";
                await publisher.PublishAsync(EventRecorder.Typing(room, name)).AsTask().WaitAsync(Timeout);
                return await receiver.WaitForAsync(EventRecorder.Named(name), TimeSpan.FromSeconds(1));
            },
            $"cross-node delivery ({label}) resumes");
    }
}
