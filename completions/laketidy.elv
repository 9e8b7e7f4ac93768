
use builtin;
use str;

set edit:completion:arg-completer[laketidy] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'laketidy'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'laketidy'= {
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Create the manifest store if it is missing (idempotent)'
            cand plan 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing'
            cand compact 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit'
            cand files 'List the live files of a snapshot, one absolute location per line'
            cand history 'Show the commit log, newest first'
            cand rollback 'Make a new commit whose partitions are those of an earlier version'
            cand vacuum 'Expire old snapshots and delete files no retained snapshot references'
            cand verify 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)'
            cand ddl 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version'
            cand inspect 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order'
            cand completions 'Print a shell completion script'
            cand man 'Write the man pages (one per subcommand)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'laketidy;init'= {
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;plan'= {
            cand --partition 'Only partitions whose path matches this glob, e.g. ''dt=2024-03-*/hour=0?'' (`*` stays within a folder)'
            cand --max-partitions 'Take at most N dirty partitions (in path order)'
            cand --shard 'This worker''s deterministic share K of N of the dirty partitions (0-based K)'
            cand --jobs 'Source files read and partitions rewritten at once [default: the number of cores]'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand --quarantine 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;compact'= {
            cand --partition 'Only partitions whose path matches this glob, e.g. ''dt=2024-03-*/hour=0?'' (`*` stays within a folder)'
            cand --max-partitions 'Take at most N dirty partitions (in path order)'
            cand --shard 'This worker''s deterministic share K of N of the dirty partitions (0-based K)'
            cand --jobs 'Source files read and partitions rewritten at once [default: the number of cores]'
            cand --memory-limit 'Memory for rows in flight, e.g. 256MiB or 4GiB; past it rows spill to local disk'
            cand --sort-buffer 'Memory each job sorts a partition in; a larger partition is sorted in runs on local disk and merged. At most the job''s share of --memory-limit. A fixed buffer keeps memory flat however large the table grows'
            cand --spill-dir 'Folder for spill files; each run uses a private folder inside it and removes it [default: the system temp folder]'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand --quarantine 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted'
            cand --dry-run 'Plan and report, but write and commit nothing'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;files'= {
            cand --version 'A past version instead of the newest'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;history'= {
            cand --limit 'Show at most N versions'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;rollback'= {
            cand --to-version 'The version whose partitions become current again'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;vacuum'= {
            cand --retain 'Keep snapshots and unreferenced files younger than this (e.g. 7d, 36h, 0s); make it longer than any job'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand --dry-run 'Report what would be deleted, delete nothing'
            cand --sources 'Also delete source files whose rows every partition has consumed (never done otherwise)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;verify'= {
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;ddl'= {
            cand --dialect 'The query engine to write SQL for'
            cand --since-version 'Only what changed since version N: added, moved and dropped partitions, new columns'
            cand --version 'Describe this version instead of the newest'
            cand --database 'Database, schema or dataset to qualify the table with (required by trino, presto, redshift, bigquery)'
            cand --name 'The table''s name in the engine [default: the definition''s name]'
            cand --stage 'Snowflake: the external stage whose URL is the table''s target (may be qualified: db.schema.stage)'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand --partitions 'Statements registering every partition of the snapshot at its committed location'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;inspect'= {
            cand --sorted-by 'Check that each file''s rows are sorted by these columns (comma-separated; ascending, nulls last)'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;completions'= {
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;man'= {
            cand --out-dir 'Folder to write the pages into'
            cand --manifest 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]'
            cand --output 'Output format: human text, or one JSON document on stdout'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more detail (per partition)'
            cand --verbose 'Print more detail (per partition)'
            cand --no-progress 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'laketidy;help'= {
            cand init 'Create the manifest store if it is missing (idempotent)'
            cand plan 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing'
            cand compact 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit'
            cand files 'List the live files of a snapshot, one absolute location per line'
            cand history 'Show the commit log, newest first'
            cand rollback 'Make a new commit whose partitions are those of an earlier version'
            cand vacuum 'Expire old snapshots and delete files no retained snapshot references'
            cand verify 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)'
            cand ddl 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version'
            cand inspect 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order'
            cand completions 'Print a shell completion script'
            cand man 'Write the man pages (one per subcommand)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'laketidy;help;init'= {
        }
        &'laketidy;help;plan'= {
        }
        &'laketidy;help;compact'= {
        }
        &'laketidy;help;files'= {
        }
        &'laketidy;help;history'= {
        }
        &'laketidy;help;rollback'= {
        }
        &'laketidy;help;vacuum'= {
        }
        &'laketidy;help;verify'= {
        }
        &'laketidy;help;ddl'= {
        }
        &'laketidy;help;inspect'= {
        }
        &'laketidy;help;completions'= {
        }
        &'laketidy;help;man'= {
        }
        &'laketidy;help;help'= {
        }
    ]
    $completions[$command]
}
