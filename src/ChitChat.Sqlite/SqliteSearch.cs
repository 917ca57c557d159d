using System.Text;
using System.Text.Json;

namespace ChitChat.Sqlite;

/// <summary>The FTS5 query of a search: every term as a string literal, so nothing a user types is FTS syntax.</summary>
internal static class SqliteSearch
{
    /// <summary>Builds the MATCH expression: each term folded again by <see cref="SearchText.Words"/> (a term handed over
    /// unfolded, or with operator characters, matches as the in-memory store would), each as an FTS5 string (double quotes,
    /// inner quotes doubled), joined by spaces (implicit AND). Inside a string <c>AND</c>, <c>OR</c>, <c>NOT</c>, <c>NEAR</c>,
    /// <c>*</c>, <c>^</c>, <c>:</c>, <c>-</c> and parentheses are plain text.</summary>
    /// <param name="terms">The terms.</param>
    /// <returns>The expression, or <see langword="null"/> when no term has a word (nothing can match).</returns>
    public static string? MatchExpression(IEnumerable<string> terms)
    {
        var words = terms.Where(t => t is not null).SelectMany(SearchText.Words).Distinct(StringComparer.Ordinal).Take(SearchText.MaxQueryWords * 4).ToArray();
        if (words.Length == 0)
        {
            return null;
        }

        var match = new StringBuilder();
        foreach (var word in words)
        {
            if (match.Length > 0)
            {
                match.Append(' ');
            }

            match.Append('"').Append(word.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }

        return match.ToString();
    }

    /// <summary>A JSON array of strings (read with <c>json_each</c>).</summary>
    /// <param name="values">The strings.</param>
    /// <returns>The JSON text.</returns>
    public static string JsonArray(IEnumerable<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var value in values.Distinct(StringComparer.Ordinal))
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
