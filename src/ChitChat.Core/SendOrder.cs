using ChitChat.Storage;

namespace ChitChat;

/// <summary>
/// Keeps one sender's messages in the order its sends were started, even when the sends run concurrently. Each
/// <see cref="Delivery.ClientConnection"/> holds one, used by <c>MessageSender.SendAsync</c> for that connection's sends,
/// so a client may pipeline sends (several in flight, each
/// acknowledged when durable) and still have them stored, numbered and delivered in the order it sent them.
/// </summary>
/// <remarks>
/// <para>
/// A send validates and resolves its room concurrently with the sends before it, then waits for its turn before the store
/// append. With a store whose appends are sequenced before they are durable (<see cref="IMessageStore.BeginAppend"/>, e.g.
/// SQLite and the in-memory store) the turn passes as soon as the previous send has handed its message to the store, so
/// pipelined sends share the store's group commits; with any other store the turn passes when the previous send is done.
/// </para>
/// <para>
/// Order is defined by the order of the <c>SendAsync</c> calls, so call it from the sender's own sequence (e.g. the hub
/// invocation, which SignalR starts in the order the client sent them). A send that fails or is rejected passes its turn
/// on; it never blocks the sends after it. Thread-safe.
/// </para>
/// </remarks>
internal sealed class SendOrder
{
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;

    /// <summary>Takes the next turn: returns the previous turn (completed when the previous send may be overtaken) and this
    /// send's own turn, which the caller must complete exactly when the next send may proceed.</summary>
    internal (Task Previous, TaskCompletionSource Turn) Enter()
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var previous = _tail;
            _tail = turn.Task;
            return (previous, turn);
        }
    }
}
