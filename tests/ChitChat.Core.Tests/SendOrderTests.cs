using System.Collections.Concurrent;
using ChitChat.InMemory;
using ChitChat.Storage;
using ChitChat.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

/// <summary>
/// <see cref="SendOrder"/>: concurrent sends of one sender are numbered in the order they were started, and with a store
/// that sequences in call order they still share the store's commits (the next append is handed over before the previous
/// one is durable).
/// </summary>
public sealed class SendOrderTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Concurrent_sends_of_one_order_are_numbered_in_call_order_even_when_the_store_completes_them_out_of_order(bool sequencesInCallOrder)
    {
        var store = new HeldAppendStore(sequencesInCallOrder);
        await using var h = await ChatHarness.CreateAsync(services: s => s.RemoveAll<IChatStore>().AddSingleton<IChatStore>(store));
        var alice = await h.UserAsync("alice");
        var order = new SendOrder();

        // Every append is held until released; the store then completes them last-first.
        var sends = Enumerable.Range(0, 20).Select(i => h.SendAsync(alice, "global", $"m{i}", $"k{i}", order)).ToArray();
        if (sequencesInCallOrder)
        {
            // All twenty were handed to the store without waiting for the earlier ones to be durable ...
            await store.AppendsCalled(20).Timed();
            store.ReleaseAll(reverse: true);
        }
        else
        {
            // ... otherwise each waits for the one before it: only one append at a time reaches the store.
            for (var i = 1; i <= 20; i++)
            {
                await store.AppendsCalled(i).Timed();
                Assert.Equal(i, store.CallCount);
                store.ReleaseAll(reverse: true);
            }
        }

        var results = await Task.WhenAll(sends).Timed();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), results.Select(r => r.Message.Seq));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), results.Select(r => r.Message.Text));
    }

    [Fact]
    public async Task Without_an_order_sends_do_not_wait_for_each_other()
    {
        var store = new HeldAppendStore(sequencesInCallOrder: false);
        await using var h = await ChatHarness.CreateAsync(services: s => s.RemoveAll<IChatStore>().AddSingleton<IChatStore>(store));
        var alice = await h.UserAsync("alice");

        var sends = Enumerable.Range(0, 5).Select(i => h.SendAsync(alice, "global", $"m{i}", null)).ToArray();
        await store.AppendsCalled(5).Timed();
        store.ReleaseAll(reverse: false);
        Assert.Equal(5, (await Task.WhenAll(sends).Timed()).Select(r => r.Message.Seq).Distinct().Count());
    }

    [Fact]
    public async Task A_rejected_send_passes_its_turn_on()
    {
        var store = new HeldAppendStore(sequencesInCallOrder: false);
        await using var h = await ChatHarness.CreateAsync(services: s => s.RemoveAll<IChatStore>().AddSingleton<IChatStore>(store));
        var alice = await h.UserAsync("alice");
        var order = new SendOrder();

        var first = h.SendAsync(alice, "global", "first", null, order);
        var empty = h.SendAsync(alice, "global", "   ", null, order);
        var unknownRoom = h.SendAsync(alice, "nowhere", "lost", null, order);
        var last = h.SendAsync(alice, "global", "last", null, order);

        await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => empty);
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => unknownRoom);
        await store.AppendsCalled(1).Timed();
        Assert.Equal(1, store.CallCount); // "last" waits for "first", not for the rejected ones
        store.ReleaseAll(reverse: false);
        await store.AppendsCalled(2).Timed();
        store.ReleaseAll(reverse: false);

        Assert.Equal(1, (await first.Timed()).Message.Seq);
        Assert.Equal(2, (await last.Timed()).Message.Seq);
    }

    [Fact]
    public async Task A_send_whose_append_fails_passes_its_turn_on()
    {
        var store = new HeldAppendStore(sequencesInCallOrder: true) { FailText = "boom" };
        await using var h = await ChatHarness.CreateAsync(services: s => s.RemoveAll<IChatStore>().AddSingleton<IChatStore>(store));
        var alice = await h.UserAsync("alice");
        var order = new SendOrder();

        var failing = h.SendAsync(alice, "global", "boom", null, order);
        var next = h.SendAsync(alice, "global", "after", null, order);
        await store.AppendsCalled(2).Timed();
        store.ReleaseAll(reverse: false);

        Assert.Equal(ChatErrorCodes.Unavailable, (await Assert.ThrowsAnyAsync<ChatException>(() => failing).Timed()).Code);
        Assert.Equal("after", (await next.Timed()).Message.Text);
    }

    [Fact]
    public async Task The_in_memory_store_sequences_an_append_before_it_returns()
    {
        var append = new InMemoryChatStore().Messages.BeginAppend(new NewMessage(Guid.CreateVersion7(), "r", Guid.NewGuid(), "a", "x", DateTimeOffset.UtcNow, null));
        Assert.True(append.Sequenced.IsCompletedSuccessfully);
        Assert.Equal(1, (await append.Durable.Timed()).Message.Seq);
    }

    /// <summary>
    /// An in-memory store whose appends are held until released. With <c>sequencesInCallOrder</c> the sequence number is
    /// assigned when AppendAsync is called (as the SQLite writer queue does); otherwise when the append is released, so
    /// that the release order decides it (as a store with concurrent round trips would).
    /// </summary>
    private sealed class HeldAppendStore(bool sequencesInCallOrder) : DelegatingChatStore(new InMemoryChatStore())
    {
        private readonly Lock _gate = new();
        private readonly List<(NewMessage Message, TaskCompletionSource<AppendResult> Done, Task<AppendResult>? Assigned)> _held = [];
        private readonly ConcurrentDictionary<int, TaskCompletionSource> _calls = new();
        private int _callCount;

        public string? FailText { get; init; }

        public int CallCount => Volatile.Read(ref _callCount);

        public override string ProviderName => "held";

        public override PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default)
        {
            var durable = AppendAsync(message, cancellationToken);
            return new PendingAppend(sequencesInCallOrder ? Task.CompletedTask : durable, durable);
        }

        public Task AppendsCalled(int count) => _calls.GetOrAdd(count, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public void ReleaseAll(bool reverse)
        {
            List<(NewMessage Message, TaskCompletionSource<AppendResult> Done, Task<AppendResult>? Assigned)> held;
            lock (_gate)
            {
                held = [.. _held];
                _held.Clear();
            }

            if (reverse)
            {
                held.Reverse();
            }

            foreach (var (message, done, assigned) in held)
            {
                if (message.Text == FailText)
                {
                    done.SetException(new ChatStoreUnavailableException("The store is down (test)."));
                    continue;
                }

                var result = assigned ?? Inner.Messages.AppendAsync(message);
                done.SetResult(result.GetAwaiter().GetResult());
            }
        }

        public override Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default)
        {
            var done = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                var assigned = sequencesInCallOrder && message.Text != FailText ? Inner.Messages.AppendAsync(message, cancellationToken) : null;
                _held.Add((message, done, assigned));
            }

            var count = Interlocked.Increment(ref _callCount);
            _calls.GetOrAdd(count, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return done.Task;
        }
    }
}
