using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.InMemory;
using ChitChat.Storage;
using ChitChat.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChitChat.AspNetCore.Tests;

public sealed class UnavailableStoreTests
{
    [Fact]
    public async Task A_store_outage_is_503_unavailable_with_retry_after_and_a_hub_error_and_health_turns_503()
    {
        var store = new SwitchableStore(new InMemoryChatStore(TimeProvider.System));
        await using var server = ChitChatServer.Start(services: s =>
        {
            s.RemoveAll<IChatStore>();
            s.AddSingleton<IChatStore>(store);
        });
        var alice = await server.NewUserAsync();
        var room = await server.NewRoomAsync(alice);
        await using var a = await alice.ConnectAsync();
        await a.JoinAsync(room, 0);

        store.Down = true;
        using var http = alice.Http();
        using var response = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "while down" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, 503, "unavailable");
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        var error = await Assert.ThrowsAsync<HubException>(() => a.SendAsync(room, "while down"));
        Assert.Equal("unavailable", HubError.Code(error));

        using var health = await http.GetAsync("/health").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default)).RootElement;
        Assert.Equal("Unhealthy", body.GetProperty("checks").GetProperty("store").GetProperty("status").GetString());

        // Back up: the same connection works again and nothing was stored while down.
        store.Down = false;
        var ack = await a.SendAsync(room, "back");
        Assert.Equal(1, ack.Seq);
        await a.WaitUntilAsync(c => c.Messages(room).Length == 1, "the message after the outage arrives");
    }

    private sealed class SwitchableStore(InMemoryChatStore inner) : DelegatingChatStore(inner)
    {
        public volatile bool Down;

        public override string ProviderName => "switchable";

        public override Task PingAsync(CancellationToken cancellationToken = default) => Down ? throw Unavailable() : base.PingAsync(cancellationToken);

        // Every message operation fails while down, the new ones included.
        public override PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
        {
            var durable = AppendAsync(message, cancellationToken);
            return new PendingAppend(durable, durable);
        }

        public override Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.AppendAsync(message, cancellationToken);

        public override Task<IReadOnlyList<ChatMessage>> QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.QueryAsync(room, query, cancellationToken);

        public override Task<long> GetLastSeqAsync(string room, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.GetLastSeqAsync(room, cancellationToken);

        public override Task<ChatMessage?> FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.FindByClientMessageIdAsync(room, clientMessageId, cancellationToken);

        public override Task<ChatMessage?> FindAsync(string room, Guid id, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.FindAsync(room, id, cancellationToken);

        public override Task<MessageUpdateResult> UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.UpdateAsync(room, id, mutation, at, cancellationToken);

        public override Task<IReadOnlyList<MessageEvent>> ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : base.ReadEventsAsync(room, afterSeq, upToSeq, limit, cancellationToken);

        private static ChatStoreUnavailableException Unavailable() => new("The test store is down.", TimeSpan.FromSeconds(2));
    }
}
