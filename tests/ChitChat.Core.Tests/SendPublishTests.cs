using ChitChat.InMemory;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Abstractions;

namespace ChitChat.Core.Tests;

/// <summary>Once a message is durable it is published, whatever happens to the caller afterwards.</summary>
public sealed class SendPublishTests
{
    [Fact]
    public async Task A_send_whose_caller_is_cancelled_after_the_message_is_durable_still_publishes_it()
    {
        var store = new GatedDurableStore();
        var transport = new CancellationHonouringTransport(new InProcessTransport(NullLogger<InProcessTransport>.Instance));
        await using var h = await ChatHarness.CreateAsync(services: s => s
            .RemoveAll<IChatStore>().AddSingleton<IChatStore>(store)
            .RemoveAll<IChatTransport>().AddSingleton<IChatTransport>(transport));
        var alice = await h.UserAsync("alice");
        var received = new TaskCompletionSource<ChatMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await transport.SubscribeAsync("global", (e, _) =>
        {
            if (e is MessagePosted posted)
            {
                received.TrySetResult(posted.Message);
            }

            return ValueTask.CompletedTask;
        }).Timed();
        using var caller = new CancellationTokenSource();

        var send = h.Sender.SendAsync(alice, new SendMessageRequest(RoomName.Parse("global"), "hello", "c-1"), cancellationToken: caller.Token);
        await store.Durable.Timed();
        Assert.Equal(1, await store.Messages.GetLastSeqAsync("global").Timed()); // durable before the caller goes away
        caller.Cancel();
        store.Release();

        var result = await send.Timed();
        Assert.True(result.Created);
        Assert.Equal(result.Message, await received.Task.WaitAsync(Wait.Timeout, TestContext.Current.CancellationToken));
    }

    /// <summary>A transport whose publish honours cancellation, as a networked one (Redis) does.</summary>
    private sealed class CancellationHonouringTransport(IChatTransport inner) : IChatTransport
    {
        public string Name => inner.Name;

        public TransportStatus Status => inner.Status;

        public ValueTask PublishAsync(RoomEvent roomEvent, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return inner.PublishAsync(roomEvent, cancellationToken);
        }

        public ValueTask<IAsyncDisposable> SubscribeAsync(string room, RoomEventHandler handler, CancellationToken cancellationToken = default) =>
            inner.SubscribeAsync(room, handler, cancellationToken);
    }

    /// <summary>An in-memory store that stores an append at once but reports it durable only when released.</summary>
    private sealed class GatedDurableStore : IChatStore, IMessageStore
    {
        private readonly InMemoryChatStore _inner = new();
        private readonly TaskCompletionSource _durable = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Gets a task that completes once an append is stored (durable in the inner store).</summary>
        public Task Durable => _durable.Task;

        public string ProviderName => "gated";

        public IUserStore Users => _inner.Users;

        public IRoomStore Rooms => _inner.Rooms;

        public IMessageStore Messages => this;

        public IMembershipStore Memberships => _inner.Memberships;

        public IReplicationStore Replication => _inner.Replication;

        public void Release() => _release.TrySetResult();

        public Task InitializeAsync(CancellationToken cancellationToken = default) => _inner.InitializeAsync(cancellationToken);

        public Task PingAsync(CancellationToken cancellationToken = default) => _inner.PingAsync(cancellationToken);

        PendingAppend IMessageStore.BeginAppend(NewMessage message, CancellationToken cancellationToken)
        {
            var durable = ((IMessageStore)this).AppendAsync(message, cancellationToken);
            return new PendingAppend(Task.CompletedTask, durable);
        }

        async Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
        {
            var result = await _inner.Messages.AppendAsync(message, CancellationToken.None);
            _durable.TrySetResult();
            await _release.Task;
            return result;
        }

        Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken) =>
            _inner.Messages.QueryAsync(room, query, cancellationToken);

        Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken) => _inner.Messages.GetLastSeqAsync(room, cancellationToken);

        Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken) =>
            _inner.Messages.FindByClientMessageIdAsync(room, clientMessageId, cancellationToken);
    }
}
