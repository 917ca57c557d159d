using BenchmarkDotNet.Attributes;
using ChitChat;
using ChitChat.Sqlite;
using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Benchmarks;

/// <summary>
/// Full-text search (FTS5, <c>unicode61 remove_diacritics 2</c>) in a SQLite file of 1,000,000 messages in 20 rooms,
/// searching 5 of them for the newest 20 matches: a rare word (about 600 messages of the whole file), two words of
/// middling frequency together (a few dozen), a middling word (about 7,000) and a very common word (about a third of
/// all messages, the worst case: every match is sorted by date). The file is seeded once by bulk insert (one
/// transaction, prepared statement, the store's own triggers filling the index) and kept in the temp directory for the
/// next run (delete <c>chitchat-search-1m-v4.db</c> there to re-seed). Run it in process (the seeded file stays open
/// once): <c>--filter '*SqliteSearch*' --inProcess</c>.
/// </summary>
public class SqliteSearchBenchmarks
{
    private const int Messages = 1_000_000;
    private const int Rooms = 20;
    private const int Vocabulary = 5_000;
    private static readonly string[] SearchedRooms = ["room-0", "room-3", "room-7", "room-11", "room-15"];

    private SqliteChatStore _store = null!;
    private IMessageStore _messages = null!;

    /// <summary>Gets the path of the seeded file.</summary>
    public static string DatabasePath => Path.Combine(Path.GetTempPath(), "chitchat-search-1m-v4.db");

    [GlobalSetup]
    public void Setup()
    {
        Seed(DatabasePath);
        _store = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={DatabasePath}" });
        _store.InitializeAsync().GetAwaiter().GetResult();
        _messages = _store.Messages;
    }

    [GlobalCleanup]
    public void Cleanup() => _store.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public Task<IReadOnlyList<ChatMessage>> RareWord() => Search(Word(4000));

    [Benchmark]
    public Task<IReadOnlyList<ChatMessage>> TwoMiddlingWords() => Search(Word(100) + " " + Word(120));

    [Benchmark]
    public Task<IReadOnlyList<ChatMessage>> MiddlingWord() => Search(Word(100));

    [Benchmark]
    public Task<IReadOnlyList<ChatMessage>> CommonWord() => Search(Word(0));

    private Task<IReadOnlyList<ChatMessage>> Search(string query) =>
        _messages.SearchAsync(new MessageSearch(SearchText.Terms(query), SearchedRooms, null, 20));

    /// <summary>The word of rank <paramref name="rank"/>: letters only, distinct per rank, some with a diacritic.</summary>
    private static string Word(int rank)
    {
        Span<char> letters = stackalloc char[8];
        var n = rank + 26 * 26; // at least three letters
        var length = 0;
        while (n > 0)
        {
            letters[length++] = (char)('a' + (n % 26));
            n /= 26;
        }

        var word = new string(letters[..length]);
        return rank % 7 == 3 ? word + "é" : word;
    }

    /// <summary>Bulk-loads the file unless it is already complete (the store's schema, then one transaction of inserts).</summary>
    private static void Seed(string path)
    {
        if (File.Exists(path))
        {
            using var check = new SqliteConnection($"Data Source={path}");
            check.Open();
            using var count = check.CreateCommand();
            count.CommandText = "SELECT COALESCE(SUM(last_seq), 0) FROM room_sequences;";
            if (Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == Messages)
            {
                return;
            }
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(file);
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        using (var schema = new SqliteChatStore(new SqliteStoreOptions { ConnectionString = $"Data Source={path}" }))
        {
            schema.InitializeAsync().GetAwaiter().GetResult();
        }

        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;";
            pragma.ExecuteNonQuery();
        }

        var random = new Random(42);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var seqs = new long[Rooms];
        var words = new string[12];
        using (var transaction = connection.BeginTransaction())
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = SqliteRows.Messages.Insert;
            for (var i = 0; i < Messages; i++)
            {
                var room = random.Next(Rooms);
                var count = random.Next(4, 13);
                for (var w = 0; w < count; w++)
                {
                    // Skewed: low ranks are common (rank 0 in about a third of the messages), high ranks rare.
                    words[w] = Word((int)(Vocabulary * Math.Pow(random.NextDouble(), 3)));
                }

                var message = new ChatMessage(
                    Guid.CreateVersion7(), $"room-{room}", ++seqs[room], Guid.Empty, "seed", string.Join(' ', words, 0, count), start.AddSeconds(i), null, 1);
                SqliteRows.Messages.Bind(insert, message, i + 1, start);
                insert.ExecuteNonQuery();
            }

            using var bookkeeping = connection.CreateCommand();
            bookkeeping.Transaction = transaction;
            bookkeeping.CommandText = "INSERT INTO room_sequences (room, last_seq) VALUES ($room, $seq) ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq;";
            for (var r = 0; r < Rooms; r++)
            {
                bookkeeping.Parameters.Clear();
                bookkeeping.Parameters.AddWithValue("$room", $"room-{r}");
                bookkeeping.Parameters.AddWithValue("$seq", seqs[r]);
                bookkeeping.ExecuteNonQuery();
            }

            bookkeeping.Parameters.Clear();
            bookkeeping.CommandText = $"UPDATE change_position SET position = {Messages} WHERE id = 1;";
            bookkeeping.ExecuteNonQuery();
            transaction.Commit();
        }

        using (var optimize = connection.CreateCommand())
        {
            optimize.CommandText = "INSERT INTO messages_fts (messages_fts) VALUES ('optimize'); PRAGMA wal_checkpoint(TRUNCATE);";
            optimize.ExecuteNonQuery();
        }

        Console.WriteLine($"// Seeded {Messages:N0} messages in {started.Elapsed.TotalSeconds:N1} s: {path}");
    }
}
