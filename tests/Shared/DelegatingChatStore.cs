using ChitChat.Storage;

namespace ChitChat.Testing;

/// <summary>
/// A store that forwards every member of <see cref="IChatStore"/> and <see cref="IMessageStore"/> to an inner store, the
/// new ones included, so that a test wrapper (a gate, a fault, a jitter) overrides only what it changes and never falls
/// back to an interface's default by accident. <see cref="Messages"/> is the wrapper itself, so message calls go through
/// the overrides; the other sub-stores are the inner store's unless a wrapper overrides their property.
/// </summary>
/// <param name="inner">The store to forward to.</param>
internal abstract class DelegatingChatStore(IChatStore inner) : IChatStore, IMessageStore
{
    /// <summary>Gets the store this one forwards to.</summary>
    protected IChatStore Inner => inner;

    public virtual string ProviderName => inner.ProviderName;

    public virtual IUserStore Users => inner.Users;

    public virtual IRoomStore Rooms => inner.Rooms;

    public IMessageStore Messages => this;

    public virtual IMembershipStore Memberships => inner.Memberships;

    public virtual IReadStateStore ReadState => inner.ReadState;

    public virtual IReplicationStore Replication => inner.Replication;

    public virtual Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public virtual Task PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);

    public virtual Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken = default) => inner.Messages.AppendAsync(message, cancellationToken);

    public virtual PendingAppend BeginAppend(NewMessage message, CancellationToken cancellationToken = default) => inner.Messages.BeginAppend(message, cancellationToken);

    public virtual Task<IReadOnlyList<ChatMessage>> QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken = default) => inner.Messages.QueryAsync(room, query, cancellationToken);

    public virtual Task<long> GetLastSeqAsync(string room, CancellationToken cancellationToken = default) => inner.Messages.GetLastSeqAsync(room, cancellationToken);

    public virtual Task<ChatMessage?> FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken = default) =>
        inner.Messages.FindByClientMessageIdAsync(room, clientMessageId, cancellationToken);

    public virtual Task<ChatMessage?> FindAsync(string room, Guid id, CancellationToken cancellationToken = default) => inner.Messages.FindAsync(room, id, cancellationToken);

    public virtual Task<MessageUpdateResult> UpdateAsync(string room, Guid id, MessageMutation mutation, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        inner.Messages.UpdateAsync(room, id, mutation, at, cancellationToken);

    public virtual Task<IReadOnlyList<MessageEvent>> ReadEventsAsync(string room, long afterSeq, long upToSeq, int limit, CancellationToken cancellationToken = default) =>
        inner.Messages.ReadEventsAsync(room, afterSeq, upToSeq, limit, cancellationToken);

    public virtual Task<IReadOnlyList<ChatMessage>> QueryThreadAsync(string room, Guid rootId, long? afterSeq, int limit, CancellationToken cancellationToken = default) =>
        inner.Messages.QueryThreadAsync(room, rootId, afterSeq, limit, cancellationToken);

    public virtual Task<IReadOnlyList<ChatMessage>> SearchAsync(MessageSearch search, CancellationToken cancellationToken = default) => inner.Messages.SearchAsync(search, cancellationToken);
}
