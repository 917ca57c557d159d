namespace ChitChat.Client;

/// <summary>A message in the outbox: sent (or to be sent) but not acknowledged yet.</summary>
/// <param name="Room">The room name.</param>
/// <param name="Text">The text.</param>
/// <param name="ClientMessageId">The idempotency key every attempt carries, so the server stores it once.</param>
/// <param name="EnqueuedAt">When <see cref="ChitChatClient.SendAsync(string, string, string?, CancellationToken)"/> was called.</param>
/// <param name="Attempts">How many times it was put on the wire so far.</param>
public sealed record PendingMessage(string Room, string Text, string ClientMessageId, DateTimeOffset EnqueuedAt, int Attempts)
{
    /// <summary>Gets the id of the message this one answers (sent with <see cref="ChitChatClient.ReplyAsync"/>), or <see langword="null"/>.</summary>
    public Guid? ReplyTo { get; init; }
}
