using ChitChat.Storage;
using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>
/// The column map of one aggregate's table: the single definition from which its SELECT list, its INSERT, its
/// insert-unless-exists, its upsert and its replication upsert (last writer wins by version) are produced, and which
/// binds a document's parameters. Every table also carries <c>position</c> (the change feed) and <c>changed_at</c>, added
/// last, so a new column is declared once, here, and every statement and read picks it up.
/// </summary>
/// <typeparam name="T">The document type.</typeparam>
internal sealed class SqliteTable<T>
{
    private readonly SqliteColumn[] _columns;
    private readonly int _positionOrdinal;
    private readonly string[] _selected;
    private readonly Func<SqliteDataReader, T> _read;
    private readonly Func<long, DateTimeOffset, T, ChangeRecord> _change;

    private SqliteTable(string name, string key, SqliteColumn[] columns, Func<SqliteDataReader, T> read, Func<long, DateTimeOffset, T, ChangeRecord> change)
    {
        Name = name;
        _columns = columns;
        _read = read;
        _change = change;
        var selected = columns.Where(c => c.Selected).Select(c => c.Name).ToArray();
        _positionOrdinal = Array.IndexOf(selected, "position");
        var names = string.Join(", ", columns.Select(c => c.Name));
        var values = string.Join(", ", columns.Select(c => "$" + c.Name));
        var set = string.Join(", ", columns.Where(c => c.Name != key).Select(c => $"{c.Name} = excluded.{c.Name}"));

        SelectList = string.Join(", ", selected);
        _selected = selected;
        Select = $"SELECT {SelectList} FROM {name}";
        var insert = $"INSERT INTO {name} ({names}) VALUES ({values})";
        Insert = insert + ";";
        InsertUnlessExists = insert + " ON CONFLICT DO NOTHING;";
        Upsert = $"{insert} ON CONFLICT ({key}) DO UPDATE SET {set};";
        UpsertIfNewer = $"{insert} ON CONFLICT ({key}) DO UPDATE SET {set} WHERE excluded.version > {name}.version;";
    }

    /// <summary>Gets the table name.</summary>
    public string Name { get; }

    /// <summary>Gets the selected columns, in reading order (the document's columns, then <c>position, changed_at</c>).</summary>
    public string SelectList { get; }

    /// <summary>Gets the selected columns qualified by a table alias (<c>r.id, r.name, ...</c>), for joins.</summary>
    /// <param name="alias">The alias.</param>
    /// <returns>The qualified select list, in the same order as <see cref="SelectList"/>.</returns>
    public string SelectListOf(string alias) => string.Join(", ", _selected.Select(c => alias + "." + c));

    /// <summary>Gets the number of selected columns (the ordinal of the first column a join adds after them).</summary>
    public int SelectedCount => _selected.Length;

    /// <summary>Gets <c>SELECT {columns} FROM {table}</c>, to which callers add their WHERE, ORDER BY and LIMIT.</summary>
    public string Select { get; }

    /// <summary>Gets the plain INSERT of every column.</summary>
    public string Insert { get; }

    /// <summary>Gets the INSERT that does nothing when any unique key is taken (the idempotent append: one statement).</summary>
    public string InsertUnlessExists { get; }

    /// <summary>Gets the INSERT that replaces the row with the same key in place.</summary>
    public string Upsert { get; }

    /// <summary>Gets the replication upsert: inserts, or replaces a row with the same key only when the new version is
    /// greater (last writer wins); an equal or newer stored version makes it change nothing.</summary>
    public string UpsertIfNewer { get; }

    /// <summary>Starts a map; declare the columns in reading order with <see cref="Builder.Column"/>.</summary>
    /// <param name="name">The table name.</param>
    /// <param name="key">The primary key column, which the upserts conflict on.</param>
    /// <returns>The builder.</returns>
    public static Builder Define(string name, string key = "id") => new(name, key);

    /// <summary>Binds every column of <paramref name="document"/> (and its change position and time) to a command of one
    /// of this map's statements. A cached command keeps its parameter objects; only their values change.</summary>
    /// <param name="command">The command.</param>
    /// <param name="document">The document.</param>
    /// <param name="position">The change position the write takes.</param>
    /// <param name="changedAt">The change time.</param>
    public void Bind(SqliteCommand command, T document, long position, DateTimeOffset changedAt)
    {
        var parameters = command.Parameters;
        if (parameters.Count != _columns.Length)
        {
            parameters.Clear();
            foreach (var column in _columns)
            {
                parameters.Add(new SqliteParameter("$" + column.Name, DBNull.Value));
            }
        }

        var last = _columns.Length - 2;
        for (var i = 0; i < last; i++)
        {
            parameters[i].Value = _columns[i].Value!(document) ?? DBNull.Value;
        }

        parameters[last].Value = position;
        parameters[last + 1].Value = SqliteRows.Ticks(changedAt);
    }

    /// <summary>Reads a document from a row of <see cref="Select"/>.</summary>
    /// <param name="reader">The reader, on a row.</param>
    /// <returns>The document.</returns>
    public T Read(SqliteDataReader reader) => _read(reader);

    /// <summary>Reads a row of <see cref="Select"/> as a change record (the document at its change position).</summary>
    /// <param name="reader">The reader, on a row.</param>
    /// <returns>The change.</returns>
    public ChangeRecord ReadChange(SqliteDataReader reader) =>
        _change(reader.GetInt64(_positionOrdinal), SqliteRows.Time(reader.GetInt64(_positionOrdinal + 1)), _read(reader));

    /// <summary>A column: its name and how a document gives its value (<see langword="null"/> for the bookkeeping columns).</summary>
    private sealed record SqliteColumn(string Name, Func<T, object?>? Value, bool Selected);

    /// <summary>Declares a map's columns; each declaration of a read column returns its ordinal in <see cref="Select"/>, for the reader.</summary>
    /// <param name="name">The table name.</param>
    /// <param name="key">The primary key column.</param>
    internal sealed class Builder(string name, string key)
    {
        private readonly List<SqliteColumn> _columns = [];
        private int _selected;

        /// <summary>Declares the next column that reads select.</summary>
        /// <param name="column">The column name; its parameter is <c>$name</c>.</param>
        /// <param name="value">The value of a document for the column (<see langword="null"/> becomes SQL NULL).</param>
        /// <returns>The column's ordinal in the SELECT list.</returns>
        public int Column(string column, Func<T, object?> value)
        {
            _columns.Add(new SqliteColumn(column, value, true));
            return _selected++;
        }

        /// <summary>Declares a column that is written but not read (derived from another, such as a normalized unique key).</summary>
        /// <param name="column">The column name.</param>
        /// <param name="value">The value of a document for the column.</param>
        /// <returns>The same builder.</returns>
        public Builder Stored(string column, Func<T, object?> value)
        {
            _columns.Add(new SqliteColumn(column, value, false));
            return this;
        }

        /// <summary>Adds <c>position</c> and <c>changed_at</c> and produces the statements.</summary>
        /// <param name="read">Reads a document from a row, with the ordinals <see cref="Column"/> returned.</param>
        /// <param name="change">Makes the change record of a document.</param>
        /// <returns>The map.</returns>
        public SqliteTable<T> Build(Func<SqliteDataReader, T> read, Func<long, DateTimeOffset, T, ChangeRecord> change)
        {
            _columns.Add(new SqliteColumn("position", null, true));
            _columns.Add(new SqliteColumn("changed_at", null, true));
            return new SqliteTable<T>(name, key, [.. _columns], read, change);
        }
    }
}
