using ChitChat.Contracts;
using ChitChat.Membership;
using ChitChat.Storage;
using Microsoft.Extensions.Options;

namespace ChitChat.Search;

/// <summary>What a search asks for (<c>GET /api/search</c>).</summary>
/// <param name="Query">The words; every word must match a whole word of the text, ignoring case and diacritics. Any
/// character that is not a letter or a digit (quotes, <c>*</c>, parentheses, FTS operators) separates words: it is never syntax.</param>
/// <param name="Room">Only this room, or <see langword="null"/> for every room the caller may read.</param>
/// <param name="Limit">The page size (default 20, at most 100), or <see langword="null"/>.</param>
/// <param name="Before">The id of the last message of the previous page: only older results, or <see langword="null"/>.</param>
public sealed record SearchRequest(string? Query, string? Room = null, int? Limit = null, Guid? Before = null);

/// <summary>
/// Full-text search over the rooms the caller may read: public rooms the caller is not banned from, and the private and
/// direct rooms the caller is a member of. Never deleted messages; newest first by <c>sentAt</c>, then <c>seq</c>; paged with
/// <see cref="SearchRequest.Before"/> (a message id). The words are cut by <see cref="SearchText"/>, the same function the
/// stores index with, so a query can never be FTS syntax.
/// </summary>
public sealed class SearchService
{
    private readonly IChatStore _store;
    private readonly MembershipService _membership;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="membership">The membership rules.</param>
    /// <param name="options">The options (<see cref="ChitChatOptions.DefaultSearchPageSize"/>, <see cref="ChitChatOptions.MaxSearchPageSize"/>).</param>
    /// <param name="time">The clock (bans expire).</param>
    public SearchService(IChatStore store, MembershipService membership, IOptions<ChitChatOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(membership);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _membership = membership;
        _options = options.Value;
        _time = time;
    }

    /// <summary>Searches.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="request">The query.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The matching messages, newest first (empty when the query has no word).</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> (no <c>q</c>, a bad <c>limit</c>, a
    /// <c>before</c> that is no message of the searched rooms), <see cref="ChatErrorCodes.RoomNotFound"/> or
    /// <see cref="ChatErrorCodes.Forbidden"/> (for <c>room</c>) or <see cref="ChatErrorCodes.Unavailable"/>.</exception>
    public async Task<IReadOnlyList<ChatMessage>> SearchAsync(ChatIdentity user, SearchRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Query))
        {
            throw ChatException.Validation("q", "q is required.");
        }

        if (request.Query.Length > _options.MaxMessageLength)
        {
            throw ChatException.Validation("q", $"q is at most {_options.MaxMessageLength} characters.");
        }

        if (request.Limit is < 1)
        {
            throw ChatException.Validation("limit", "limit must be at least 1.");
        }

        var rooms = request.Room is { } only
            ? [(await _membership.DemandAsync(user, RoomName.Parse(only), RoomOperation.Read, cancellationToken).ConfigureAwait(false)).Room.Name]
            : await ReadableRoomsAsync(user, cancellationToken).ConfigureAwait(false);

        MessageSearchCursor? before = null;
        if (request.Before is { } beforeId)
        {
            before = await CursorAsync(rooms, beforeId, cancellationToken).ConfigureAwait(false)
                ?? throw ChatException.Validation("before", "before is the id of a message of the searched rooms.");
        }

        var terms = SearchText.Terms(request.Query);
        if (terms.Count == 0 || rooms.Count == 0)
        {
            return [];
        }

        var limit = Math.Min(request.Limit ?? _options.DefaultSearchPageSize, _options.MaxSearchPageSize);
        return await _store.Messages.SearchAsync(new MessageSearch(terms, rooms, before, limit), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The rooms the caller may read: their room list (public rooms and their own private and direct rooms) less the
    /// public rooms they are banned from (one membership read per public room they are not a member of).</summary>
    private async Task<IReadOnlyList<string>> ReadableRoomsAsync(ChatIdentity user, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var entries = await _store.Rooms.ListForUserAsync(user.UserId, cancellationToken).ConfigureAwait(false);
        var rooms = new List<string>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.Membership is null)
            {
                var membership = await _store.Memberships.FindAsync(entry.Room.Name, user.UserId, cancellationToken).ConfigureAwait(false);
                if (RoomAccessRules.Check(new RoomAccess(user, entry.Room, membership), RoomOperation.Read, now) is not null)
                {
                    continue;
                }
            }

            rooms.Add(entry.Room.Name);
        }

        return rooms;
    }

    private async Task<MessageSearchCursor?> CursorAsync(IReadOnlyList<string> rooms, Guid id, CancellationToken cancellationToken)
    {
        foreach (var room in rooms)
        {
            if (await _store.Messages.FindAsync(room, id, cancellationToken).ConfigureAwait(false) is { } message)
            {
                return MessageSearchCursor.Of(message);
            }
        }

        return null;
    }
}
