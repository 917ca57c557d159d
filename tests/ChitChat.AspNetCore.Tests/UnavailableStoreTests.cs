using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.InMemory;
using ChitChat.Storage;
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

    private sealed class SwitchableStore(InMemoryChatStore inner) : IChatStore, IMessageStore
    {
        public volatile bool Down;

        public string ProviderName => "switchable";

        public IUserStore Users => inner.Users;

        public IRoomStore Rooms => inner.Rooms;

        public IMessageStore Messages => this;

        public IMembershipStore Memberships => inner.Memberships;

        public IReplicationStore Replication => inner.Replication;

        public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken = default) => Down ? throw Unavailable() : inner.PingAsync(cancellationToken);

        public Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : inner.Messages.AppendAsync(message, cancellationToken);

        public Task<IReadOnlyList<ChatMessage>> QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : inner.Messages.QueryAsync(room, query, cancellationToken);

        public Task<long> GetLastSeqAsync(string room, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : inner.Messages.GetLastSeqAsync(room, cancellationToken);

        public Task<ChatMessage?> FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken = default) =>
            Down ? throw Unavailable() : inner.Messages.FindByClientMessageIdAsync(room, clientMessageId, cancellationToken);

        private static ChatStoreUnavailableException Unavailable() => new("The test store is down.", TimeSpan.FromSeconds(2));
    }
}
