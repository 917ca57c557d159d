using System.Text.RegularExpressions;
using ChitChat.Storage;

namespace ChitChat.Messaging;

/// <summary>
/// The one owner of what a text mentions: every <c>@userName</c> (a user name's characters: letters, digits, <c>_</c>,
/// <c>.</c>, <c>-</c>; a trailing <c>.</c> or <c>-</c> is punctuation) that names a member of the room, ignoring case,
/// distinct, in order of first mention. An <c>@</c> inside a word (an e-mail address) mentions nobody. Used by a send and by an edit.
/// </summary>
internal static partial class Mentions
{
    /// <summary>The most distinct names of one text that are looked up (the rest mention nobody).</summary>
    public const int MaxNames = 32;

    /// <summary>Resolves the members a text mentions.</summary>
    public static async Task<IReadOnlyList<Guid>> ResolveAsync(IChatStore store, string room, string text, CancellationToken cancellationToken)
    {
        var names = Names(text);
        if (names.Count == 0)
        {
            return [];
        }

        var mentioned = new List<Guid>();
        foreach (var name in names)
        {
            var user = await store.Users.FindByNameAsync(name, cancellationToken).ConfigureAwait(false);
            if (user is null || mentioned.Contains(user.Id))
            {
                continue;
            }

            var membership = await store.Memberships.FindAsync(room, user.Id, cancellationToken).ConfigureAwait(false);
            if (membership is { IsMember: true })
            {
                mentioned.Add(user.Id);
            }
        }

        return mentioned;
    }

    /// <summary>The distinct names after an <c>@</c> (ignoring case), at most <see cref="MaxNames"/>.</summary>
    public static IReadOnlyList<string> Names(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var names = new List<string>();
        foreach (Match match in MentionPattern().Matches(text))
        {
            var name = match.Groups["name"].Value.TrimEnd('.', '-');
            if (name.Length > 0 && !names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(name);
                if (names.Count == MaxNames)
                {
                    break;
                }
            }
        }

        return names;
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9_.\-@])@(?<name>[A-Za-z0-9_.\-]{1,256})", RegexOptions.CultureInvariant)]
    private static partial Regex MentionPattern();
}
