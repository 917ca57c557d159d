namespace ChitChat.Contracts;

/// <summary>
/// An HTTP error as the API returns it: RFC 9457 problem details (<c>application/problem+json</c>) with ChitChat's
/// stable <see cref="Code"/> (one of <see cref="ChatErrorCodes"/>). The retry delay of <c>rate_limited</c> and
/// <c>unavailable</c> is in the <c>Retry-After</c> header.
/// </summary>
/// <param name="Type">The problem type URI.</param>
/// <param name="Title">A short summary.</param>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Detail">What went wrong, for people.</param>
/// <param name="Code">The stable error code, for programs.</param>
/// <param name="Errors">Per-field validation errors (with <c>validation_failed</c>).</param>
public sealed record ChatProblem(string? Type, string? Title, int? Status, string? Detail, string? Code, IReadOnlyDictionary<string, string[]>? Errors);
