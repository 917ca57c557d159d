using ChitChat.InMemory;
using ChitChat.Storage;
using ChitChat.Testing;
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
    private sealed class GatedDurableStore() : DelegatingChatStore(new InMemoryChatStore())
    {
        private readonly TaskCompletionSource _durable = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Gets a task that completes once an append is stored (durable in the inner store).</summary>
        public Task Durable => _durable.Task;

        public override string ProviderName => "gated";

        public void Release() => _release.TrySetResult();

        public override PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
        {
            var durable = AppendAsync(message, cancellationToken);
            return new PendingAppend(Task.CompletedTask, durable);
        }

        public override async Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default)
        {
            var result = await Inner.Messages.AppendAsync(message, CancellationToken.None);
            _durable.TrySetResult();
            await _release.Task;
            return result;
        }
    }
}
