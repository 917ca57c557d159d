namespace ChitChat.Messaging;

/// <summary>A message to send (see <see cref="MessageSender"/>). The author is never part of it: it is the authenticated identity.</summary>
/// <param name="Room">The room.</param>
/// <param name="Text">The text, validated by the sender as a <see cref="MessageText"/> against the configured maximum length.</param>
/// <param name="ClientMessageId">The optional idempotency key, unique per room: 1 to <see cref="ChitChatOptions.MaxClientMessageIdLength"/>
/// printable ASCII characters. A retry with the same key returns the original message and stores nothing.</param>
public sealed record SendMessageRequest(RoomName Room, string? Text, string? ClientMessageId = null)
{
    /// <summary>Gets the surface the message comes in through when it is not ChitChat's own API (for example
    /// <see cref="MessageOrigins.Legacy"/>), or <see langword="null"/> for the hub and the HTTP API; stored as
    /// <see cref="ChatMessage.Origin"/>. Set by the host, never from a client's payload.</summary>
    public string? Origin { get; init; }

    /// <summary>Gets the id of the message (of the same room, not deleted) this one answers, or <see langword="null"/>. The
    /// reply joins that message's thread: its <see cref="ChatMessage.ThreadRoot"/> is the answered message's root, or the
    /// answered message itself when it is a root.</summary>
    public Guid? ReplyTo { get; init; }

    /// <summary>
    /// Gets an extra check the host runs for this send, or <see langword="null"/>: the sender awaits it inside the send's
    /// turn (so pipelined sends keep their order) and before its own rules (<see cref="Membership.MembershipService.EnsureCanSendAsync"/>).
    /// The ASP.NET Core host passes its authorization (application handlers) here; it throws a <see cref="ChatException"/> to refuse.
    /// </summary>
    public Func<CancellationToken, Task>? Authorize { get; init; }
}
