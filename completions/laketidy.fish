# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_laketidy_global_optspecs
    string join \n manifest= output= q/quiet v/verbose no-progress h/help V/version
end

function __fish_laketidy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_laketidy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_laketidy_using_subcommand
    set -l cmd (__fish_laketidy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c laketidy -n "__fish_laketidy_needs_command" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_needs_command" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_needs_command" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_needs_command" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_needs_command" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_needs_command" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_needs_command" -s V -l version -d 'Print version'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "init" -d 'Create the manifest store if it is missing (idempotent)'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "plan" -d 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "compact" -d 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "files" -d 'List the live files of a snapshot, one absolute location per line'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "history" -d 'Show the commit log, newest first'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "rollback" -d 'Make a new commit whose partitions are those of an earlier version'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "vacuum" -d 'Expire old snapshots and delete files no retained snapshot references'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "verify" -d 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "ddl" -d 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "inspect" -d 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "man" -d 'Write the man pages (one per subcommand)'
complete -c laketidy -n "__fish_laketidy_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand init" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l partition -d 'Only partitions whose path matches this glob, e.g. \'dt=2024-03-*/hour=0?\' (`*` stays within a folder)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l max-partitions -d 'Take at most N dirty partitions (in path order)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l shard -d 'This worker\'s deterministic share K of N of the dirty partitions (0-based K)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l jobs -d 'Source files read and partitions rewritten at once [default: the number of cores]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l quarantine -d 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted'
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand plan" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l partition -d 'Only partitions whose path matches this glob, e.g. \'dt=2024-03-*/hour=0?\' (`*` stays within a folder)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l max-partitions -d 'Take at most N dirty partitions (in path order)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l shard -d 'This worker\'s deterministic share K of N of the dirty partitions (0-based K)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l jobs -d 'Source files read and partitions rewritten at once [default: the number of cores]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l memory-limit -d 'Memory for rows in flight, e.g. 256MiB or 4GiB; past it rows spill to local disk' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l sort-buffer -d 'Memory each job sorts a partition in; a larger partition is sorted in runs on local disk and merged. At most the job\'s share of --memory-limit. A fixed buffer keeps memory flat however large the table grows' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l spill-dir -d 'Folder for spill files; each run uses a private folder inside it and removes it [default: the system temp folder]' -r -F
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l quarantine -d 'Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l dry-run -d 'Plan and report, but write and commit nothing'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand compact" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -l version -d 'A past version instead of the newest' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand files" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -l limit -d 'Show at most N versions' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand history" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -l to-version -d 'The version whose partitions become current again' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand rollback" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l retain -d 'Keep snapshots and unreferenced files younger than this (e.g. 7d, 36h, 0s); make it longer than any job' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l dry-run -d 'Report what would be deleted, delete nothing'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l sources -d 'Also delete source files whose rows every partition has consumed (never done otherwise)'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand vacuum" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand verify" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l dialect -d 'The query engine to write SQL for' -r -f -a "hive\t''
spark\t''
athena\t''
trino\t''
presto\t''
redshift\t''
snowflake\t''
bigquery\t''
duckdb\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l since-version -d 'Only what changed since version N: added, moved and dropped partitions, new columns' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l version -d 'Describe this version instead of the newest' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l database -d 'Database, schema or dataset to qualify the table with (required by trino, presto, redshift, bigquery)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l name -d 'The table\'s name in the engine [default: the definition\'s name]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l stage -d 'Snowflake: the external stage whose URL is the table\'s target (may be qualified: db.schema.stage)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l partitions -d 'Statements registering every partition of the snapshot at its committed location'
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand ddl" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -l sorted-by -d 'Check that each file\'s rows are sorted by these columns (comma-separated; ascending, nulls last)' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand completions" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -l out-dir -d 'Folder to write the pages into' -r -F
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -l manifest -d 'Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path [default for a local target: TARGET/_laketidy/]' -r
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -l output -d 'Output format: human text, or one JSON document on stdout' -r -f -a "text\t''
json\t''"
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -s q -l quiet -d 'Print only errors'
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -s v -l verbose -d 'Print more detail (per partition)'
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -l no-progress -d 'Never draw progress bars (they are drawn on stderr only when it is a terminal)'
complete -c laketidy -n "__fish_laketidy_using_subcommand man" -s h -l help -d 'Print help'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "init" -d 'Create the manifest store if it is missing (idempotent)'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "plan" -d 'Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "compact" -d 'Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "files" -d 'List the live files of a snapshot, one absolute location per line'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "history" -d 'Show the commit log, newest first'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "rollback" -d 'Make a new commit whose partitions are those of an earlier version'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "vacuum" -d 'Expire old snapshots and delete files no retained snapshot references'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "verify" -d 'Check that every referenced file exists with its recorded size and row count (exit 4 if not)'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "ddl" -d 'Print table DDL for a query engine: CREATE, partition registration, or the changes since a version'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "inspect" -d 'Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "man" -d 'Write the man pages (one per subcommand)'
complete -c laketidy -n "__fish_laketidy_using_subcommand help; and not __fish_seen_subcommand_from init plan compact files history rollback vacuum verify ddl inspect completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
