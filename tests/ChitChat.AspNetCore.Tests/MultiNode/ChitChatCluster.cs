using ChitChat.Contracts;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Redis.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ChitChat.AspNetCore.Tests.MultiNode;

/// <summary>
/// Several sample web hosts on real Kestrel sockets sharing one real redis-server (transport, presence, leases) and one
/// SQLite file (the store), with the same signing key: a token issued by one node is accepted by every node.
/// </summary>
public sealed class ChitChatCluster : IAsyncDisposable
{
    private readonly string _directory;

    private ChitChatCluster(RedisServerFixture redis, string directory, string keyPrefix)
    {
        Redis = redis;
        _directory = directory;
        KeyPrefix = keyPrefix;
    }

    public RedisServerFixture Redis { get; }

    public string KeyPrefix { get; }

    public List<ChitChatServer> Nodes { get; } = [];

    public string DatabasePath => Path.Combine(_directory, "chat.db");

    public static async Task<ChitChatCluster> StartAsync(int nodes)
    {
        var redis = RedisServerFixture.CreateUnstarted();
        var directory = Directory.CreateTempSubdirectory("chitchat-multinode-").FullName;
        var cluster = new ChitChatCluster(redis, directory, $"mn{Guid.NewGuid():N}:");
        try
        {
            await redis.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
            for (var i = 0; i < nodes; i++)
            {
                cluster.Nodes.Add(ChitChatServer.Start(new Dictionary<string, string?>
                {
                    ["ChitChat:Transport"] = "Redis",
                    ["ChitChat:Redis:Configuration"] = redis.ConnectionString,
                    ["ChitChat:Redis:KeyPrefix"] = cluster.KeyPrefix,
                    ["ChitChat:Redis:PresenceTimeout"] = "00:00:02",
                    ["ChitChat:Store"] = "Sqlite",
                    ["ChitChat:Sqlite:ConnectionString"] = $"Data Source={cluster.DatabasePath}",
                }));
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The same user (same token) as seen through another node.</summary>
    public static TestUser On(TestUser user, ChitChatServer node) => user with { Server = node };

    /// <summary>Every persisted message of <paramref name="room"/>, read through <c>GET /api/rooms/{room}/messages</c> pages.</summary>
    public static async Task<List<MessageDto>> ReadStoreAsync(TestUser reader, string room)
    {
        using var http = reader.Http();
        var all = new List<MessageDto>();
        long after = 0;
        while (true)
        {
            var page = await http.GetFromJsonAsync<List<MessageDto>>($"/api/rooms/{room}/messages?after={after}&limit=500", ChitChatServer.Json)
                .WaitAsync(Timeouts.Default);
            if (page is null || page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
            after = page[^1].Seq;
        }
    }

    /// <summary>The overall status of <c>GET /health</c> of <paramref name="node"/> and those of its <c>transport</c> and <c>redis</c> checks.</summary>
    public static async Task<NodeHealth> HealthAsync(ChitChatServer node)
    {
        using var http = node.Http();
        using var response = await http.GetAsync("/health").WaitAsync(Timeouts.Default);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default)).RootElement;
        var checks = body.GetProperty("checks");
        return new NodeHealth(
            (int)response.StatusCode,
            body.GetProperty("status").GetString()!,
            checks.GetProperty("transport").GetProperty("status").GetString()!,
            checks.GetProperty("redis").GetProperty("status").GetString()!);
    }

    /// <summary>
    /// Simulates the crash of <paramref name="node"/> as the rest of the cluster sees it: its presence heartbeat stops while its
    /// clients stay connected and nobody leaves (a graceful host stop would disconnect the clients, which leave cleanly).
    /// </summary>
    public static async Task StopPresenceHeartbeatAsync(ChitChatServer node)
    {
        var heartbeat = node.Services.GetServices<IHostedService>().Single(s => s.GetType().Name == "RedisPresenceHeartbeatService");
        await heartbeat.StopAsync(CancellationToken.None).WaitAsync(Timeouts.Default);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>What <c>GET /health</c> of a node says.</summary>
public sealed record NodeHealth(int HttpStatus, string Status, string Transport, string Redis)
{
    public bool Is(string status) => Transport == status && Redis == status;
}

/// <summary>Polling with a generous overall timeout whose failure names the phase.</summary>
public static class Eventually
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string phase, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Generous);
        T last = default!;
        Exception? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe().WaitAsync(Timeouts.Default);
                lastError = null;
                if (done(last))
                {
                    return last;
                }
            }
            catch (Exception ex) when (ex is HubException or HttpRequestException or TimeoutException or JsonException or KeyNotFoundException)
            {
                lastError = ex;
            }

            // Polling interval, not synchronization: the condition is re-checked until the overall deadline.
            await Task.Delay(100);
        }

        throw new TimeoutException($"Timed out waiting for: {phase}. Last value: {Describe(last)}; last error: {lastError?.Message ?? "none"}");
    }

    private static string Describe(object? value) => value switch
    {
        null => "(none)",
        System.Collections.IEnumerable items and not string => "[" + string.Join(", ", items.Cast<object?>()) + "]",
        _ => value.ToString() ?? "",
    };
}
