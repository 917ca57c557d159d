// Every await here is bounded by its own WaitAsync/Timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Text.Json;
using ChitChat.Redis.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Legacy.Tests;

/// <summary>Two nodes sharing one SQLite file (the store) and one real redis-server (the transport).</summary>
public sealed class LegacyMultiNodeTests
{
    [Fact]
    public async Task Native_messages_reach_legacy_sockets_on_every_node_and_legacy_frames_stay_on_their_node()
    {
        await using var redis = RedisServerFixture.CreateUnstarted();
        await redis.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var directory = Directory.CreateTempSubdirectory("chitchat-legacy-").FullName;
        try
        {
            var prefix = $"legacy{Guid.NewGuid():N}:";
            void Shared(IChitChatBuilder chat) => chat
                .UseSqlite($"Data Source={Path.Combine(directory, "chat.db")}")
                .UseRedisTransport(o =>
                {
                    o.Configuration = redis.ConnectionString;
                    o.KeyPrefix = prefix;
                });

            await using var a = await LegacyHost.StartAsync(providers: Shared);
            await using var b = await LegacyHost.StartAsync(providers: Shared);
            await a.RegisterAsync("modern");
            var (hub, _) = await a.ConnectNativeAsync("modern");
            await using var _ = hub;
            using var onA = await a.ConnectAsync("global");
            using var onB = await b.ConnectAsync("global");

            // A legacy frame on node B: its legacy sockets get it, node A's do not (never published, never stored).
            await LegacyHost.SendJsonAsync(onB, new { username = "old-b", text = "only on b", timestamp = "t" });
            Assert.Equal("only on b", (await LegacyHost.ReceiveJsonAsync(onB, "legacy frame on its own node")).GetProperty("text").GetString());

            // A native message sent on node A reaches the legacy sockets of both nodes through the delivery engine; on A it
            // is the first frame (the sentinel that proves B's frame did not cross).
            await hub.InvokeAsync<JsonElement>("SendMessage", "global", "native from a", "n-1").WaitAsync(LegacyHost.Timeout);
            Assert.Equal("native from a", (await LegacyHost.ReceiveJsonAsync(onA, "native message on the sending node")).GetProperty("text").GetString());
            Assert.Equal("native from a", (await LegacyHost.ReceiveJsonAsync(onB, "native message on the other node")).GetProperty("text").GetString());
            Assert.Equal(["native from a"], (await b.HistoryAsync("global")).Select(m => m.Text));
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // SQLite may still hold the file briefly on some platforms; the temp directory is cleaned up eventually.
            }
        }
    }
}
