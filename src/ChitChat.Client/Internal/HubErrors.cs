using System.Globalization;
using System.Text.RegularExpressions;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;

namespace ChitChat.Client.Internal;

/// <summary>
/// Parses the hub's error messages (<c>"… HubException: &lt;code&gt;: &lt;message&gt; [retryAfterMs=N]"</c>) into
/// <see cref="ChitChatException"/>s.
/// </summary>
internal static partial class HubErrors
{
    private const string Marker = "HubException: ";

    /// <summary>Parses a hub exception.</summary>
    /// <param name="exception">The exception SignalR threw.</param>
    /// <param name="retryAfter">The delay to report for <c>rate_limited</c> when the message carries none (servers before <c>[retryAfterMs=N]</c>).</param>
    /// <returns>The typed exception.</returns>
    public static ChitChatException Parse(HubException exception, TimeSpan? retryAfter = null)
    {
        var (code, message) = Split(exception.Message);
        var suffix = RetryAfterSuffix().Match(message);
        if (suffix.Success)
        {
            message = message[..suffix.Index].TrimEnd();
            retryAfter = TimeSpan.FromMilliseconds(long.Parse(suffix.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture));
            return new ChitChatException(code, message, retryAfter: retryAfter, innerException: exception);
        }

        return new ChitChatException(code, message, retryAfter: code == ChatErrorCodes.RateLimited ? retryAfter : null, innerException: exception);
    }

    [GeneratedRegex(@"\[retryAfterMs=(\d{1,12})\]$", RegexOptions.CultureInvariant)]
    private static partial Regex RetryAfterSuffix();

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
