using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;

namespace ChitChat.Client.Internal;

/// <summary>Parses the hub's error messages (<c>"… HubException: &lt;code&gt;: &lt;message&gt;"</c>) into <see cref="ChitChatException"/>s.</summary>
internal static class HubErrors
{
    private const string Marker = "HubException: ";

    /// <summary>Parses a hub exception.</summary>
    /// <param name="exception">The exception SignalR threw.</param>
    /// <param name="retryAfter">The delay to report for <c>rate_limited</c> (the hub does not carry one).</param>
    /// <returns>The typed exception.</returns>
    public static ChitChatException Parse(HubException exception, TimeSpan? retryAfter = null)
    {
        var (code, message) = Split(exception.Message);
        return new ChitChatException(code, message, retryAfter: code == ChatErrorCodes.RateLimited ? retryAfter : null, innerException: exception);
    }

    /// <summary>Splits a hub error message into code and text.</summary>
    /// <param name="message">The message, with or without SignalR's prefix.</param>
    /// <returns>The code (<c>hub_error</c> when the message has none) and the text.</returns>
    public static (string Code, string Message) Split(string message)
    {
        var index = message.IndexOf(Marker, StringComparison.Ordinal);
        var text = index >= 0 ? message[(index + Marker.Length)..] : message;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && text.AsSpan(0, colon).ContainsAnyExcept("abcdefghijklmnopqrstuvwxyz_") is false
            ? (text[..colon], text[(colon + 1)..].Trim())
            : ("hub_error", text);
    }
}
