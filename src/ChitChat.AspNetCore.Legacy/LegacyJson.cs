using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChitChat.AspNetCore.Legacy;

/// <summary><c>POST /register/</c>.</summary>
internal sealed record LegacyRegisterRequest(string? FirstName, string? LastName, string? UserName, string? Password);

/// <summary><c>POST /login/</c>.</summary>
internal sealed record LegacyLoginRequest(string? UserName, string? Password);

/// <summary><c>POST /message/all/</c>; <c>chatroomId</c> is a number (a numeric string is accepted).</summary>
internal sealed record LegacyListRequest(JsonElement ChatroomId);

/// <summary><c>POST /message/create</c>.</summary>
internal sealed record LegacyCreateRequest(JsonElement UserId, string? UserName, JsonElement ChatroomId, string? Message);

/// <summary>A message as ChitChat 1 listed it.</summary>
internal sealed record LegacyMessage(string UserId, string UserName, int ChatroomId, string Message, string Date);

/// <summary>The <c>/login/</c> answer.</summary>
internal sealed record LegacyLoginResponse(string Username, string Id, string Chatroom);

/// <summary>A <c>{"message": ...}</c> answer, with per-field errors for validation failures.</summary>
internal sealed record LegacyStatus(string Message, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string[]>? Errors = null);

/// <summary>A legacy WebSocket frame: <c>{username, text, timestamp}</c>.</summary>
internal sealed record LegacyFrame(string? Username, string? Text, JsonElement Timestamp);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(LegacyRegisterRequest))]
[JsonSerializable(typeof(LegacyLoginRequest))]
[JsonSerializable(typeof(LegacyListRequest))]
[JsonSerializable(typeof(LegacyCreateRequest))]
[JsonSerializable(typeof(LegacyMessage[]))]
[JsonSerializable(typeof(LegacyLoginResponse))]
[JsonSerializable(typeof(LegacyStatus))]
[JsonSerializable(typeof(LegacyFrame))]
internal sealed partial class LegacyJsonContext : JsonSerializerContext
{
    /// <summary>Formats a server time as ChitChat does on the wire: ISO-8601 UTC with milliseconds.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Reads an id that old clients send as a number or a numeric string.</summary>
    public static bool TryReadInt(JsonElement element, out int value)
    {
        value = 0;
        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetInt32(out value),
            JsonValueKind.String => int.TryParse(element.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    /// <summary>Reads a string or numeric id as text.</summary>
    public static string? ReadText(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        _ => null,
    };
}
