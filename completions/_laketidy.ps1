
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'laketidy' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'laketidy'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'laketidy' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the manifest store if it is missing (idempotent)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit')
            [CompletionResult]::new('files', 'files', [CompletionResultType]::ParameterValue, 'List the live files of a snapshot, one absolute location per line')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the commit log, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Make a new commit whose partitions are those of an earlier version')
            [CompletionResult]::new('vacuum', 'vacuum', [CompletionResultType]::ParameterValue, 'Expire old snapshots and delete files no retained snapshot references')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)')
            [CompletionResult]::new('ddl', 'ddl', [CompletionResultType]::ParameterValue, 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (one per subcommand)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'laketidy;init' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;plan' {
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only partitions whose path matches this glob, e.g. ''dt=2024-03-*/hour=0?'' (`*` stays within a folder)')
            [CompletionResult]::new('--max-partitions', '--max-partitions', [CompletionResultType]::ParameterName, 'Take at most N dirty partitions (in path order)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'This worker''s deterministic share K of N of the dirty partitions (0-based K)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Source files read and partitions rewritten at once [default: the number of cores]')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('--quarantine', '--quarantine', [CompletionResultType]::ParameterName, 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;compact' {
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Only partitions whose path matches this glob, e.g. ''dt=2024-03-*/hour=0?'' (`*` stays within a folder)')
            [CompletionResult]::new('--max-partitions', '--max-partitions', [CompletionResultType]::ParameterName, 'Take at most N dirty partitions (in path order)')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'This worker''s deterministic share K of N of the dirty partitions (0-based K)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Source files read and partitions rewritten at once [default: the number of cores]')
            [CompletionResult]::new('--memory-limit', '--memory-limit', [CompletionResultType]::ParameterName, 'Memory for rows in flight, e.g. 256MiB or 4GiB; past it rows spill to local disk')
            [CompletionResult]::new('--sort-buffer', '--sort-buffer', [CompletionResultType]::ParameterName, 'Memory each job sorts a partition in; a larger partition is sorted in runs on local disk and merged. At most the job''s share of --memory-limit. A fixed buffer keeps memory flat however large the table grows')
            [CompletionResult]::new('--spill-dir', '--spill-dir', [CompletionResultType]::ParameterName, 'Folder for spill files; each run uses a private folder inside it and removes it [default: the system temp folder]')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('--quarantine', '--quarantine', [CompletionResultType]::ParameterName, 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Plan and report, but write and commit nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;files' {
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'A past version instead of the newest')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;history' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N versions')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;rollback' {
            [CompletionResult]::new('--to-version', '--to-version', [CompletionResultType]::ParameterName, 'The version whose partitions become current again')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;vacuum' {
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Keep snapshots and unreferenced files younger than this (e.g. 7d, 36h, 0s); make it longer than any job')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Report what would be deleted, delete nothing')
            [CompletionResult]::new('--sources', '--sources', [CompletionResultType]::ParameterName, 'Also delete source files whose rows every partition has consumed (never done otherwise)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;verify' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;ddl' {
            [CompletionResult]::new('--dialect', '--dialect', [CompletionResultType]::ParameterName, 'The query engine to write SQL for')
            [CompletionResult]::new('--since-version', '--since-version', [CompletionResultType]::ParameterName, 'Only what changed since version N: added, moved and dropped partitions, new columns')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Describe this version instead of the newest')
            [CompletionResult]::new('--database', '--database', [CompletionResultType]::ParameterName, 'Database, schema or dataset to qualify the table with (required by trino, presto, redshift, bigquery)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The table''s name in the engine [default: the definition''s name]')
            [CompletionResult]::new('--stage', '--stage', [CompletionResultType]::ParameterName, 'Snowflake: the external stage whose URL is the table''s target (may be qualified: db.schema.stage)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'Statements registering every partition of the snapshot at its committed location')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;inspect' {
            [CompletionResult]::new('--sorted-by', '--sorted-by', [CompletionResultType]::ParameterName, 'Check that each file''s rows are sorted by these columns (comma-separated; ascending, nulls last)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;completions' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;man' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Folder to write the pages into')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human text, or one JSON document on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more detail (per partition)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars (they are drawn on stderr only when it is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'laketidy;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create the manifest store if it is missing (idempotent)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing')
            [CompletionResult]::new('compact', 'compact', [CompletionResultType]::ParameterValue, 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit')
            [CompletionResult]::new('files', 'files', [CompletionResultType]::ParameterValue, 'List the live files of a snapshot, one absolute location per line')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the commit log, newest first')
            [CompletionResult]::new('rollback', 'rollback', [CompletionResultType]::ParameterValue, 'Make a new commit whose partitions are those of an earlier version')
            [CompletionResult]::new('vacuum', 'vacuum', [CompletionResultType]::ParameterValue, 'Expire old snapshots and delete files no retained snapshot references')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)')
            [CompletionResult]::new('ddl', 'ddl', [CompletionResultType]::ParameterValue, 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (one per subcommand)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'laketidy;help;init' {
            break
        }
        'laketidy;help;plan' {
            break
        }
        'laketidy;help;compact' {
            break
        }
        'laketidy;help;files' {
            break
        }
        'laketidy;help;history' {
            break
        }
        'laketidy;help;rollback' {
            break
        }
        'laketidy;help;vacuum' {
            break
        }
        'laketidy;help;verify' {
            break
        }
        'laketidy;help;ddl' {
            break
        }
        'laketidy;help;inspect' {
            break
        }
        'laketidy;help;completions' {
            break
        }
        'laketidy;help;man' {
            break
        }
        'laketidy;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
