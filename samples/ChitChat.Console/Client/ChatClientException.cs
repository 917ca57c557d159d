namespace ChitChat.Cli.Client;

/// <summary>An error the server reported: the protocol's <c>code</c> and a readable message.</summary>
/// <param name="code">The error code, e.g. <c>rate_limited</c>, or <c>http_502</c> when the server sent no code.</param>
/// <param name="message">The message.</param>
/// <param name="innerException">The cause.</param>
public sealed class ChatClientException(string code, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>Gets the error code.</summary>
    public string Code { get; } = code;

    /// <summary>Formats as <c>code: message</c>, the way the hub reports errors.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => $"{Code}: {Message}";

    /// <summary>Parses a hub error message (<c>code: message</c>).</summary>
    /// <param name="message">The hub exception's message.</param>
    /// <param name="innerException">The hub exception.</param>
    /// <returns>The exception.</returns>
    public static ChatClientException FromHub(string message, Exception? innerException = null)
    {
        // SignalR prefixes server errors with "An unexpected error occurred invoking 'X' on the server. HubException: ".
        const string marker = "HubException: ";
        var index = message.IndexOf(marker, StringComparison.Ordinal);
        var text = index >= 0 ? message[(index + marker.Length)..] : message;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && text[..colon].All(c => c is '_' or (>= 'a' and <= 'z'))
            ? new ChatClientException(text[..colon], text[(colon + 1)..].Trim(), innerException)
            : new ChatClientException("hub_error", text, innerException);
    }
}
