# fish completion for kdc-run
function __kdc_run_profiles
    for d in (string split : -- $KDC_CONFIG_PATH) $XDG_CONFIG_HOME/kdc ~/.config/kdc /etc/kdc /usr/share/kdc
        for f in $d/profiles/*.ini
            basename $f .ini
        end
    end
end

complete -c kdc-run -n __fish_is_first_arg -a doctor -d 'check what this host can enforce'
complete -c kdc-run -n '__fish_seen_subcommand_from doctor' -l json -d 'machine-readable output'
complete -c kdc-run -l tenant -x -d 'account the run to tenant'
complete -c kdc-run -l project -x -d 'account the run to project'
complete -c kdc-run -l user -x -d 'account the run to user'
complete -c kdc-run -s p -l profile -r -a '(__kdc_run_profiles)' -d 'profile name or path'
complete -c kdc-run -l print-profile -d 'print the resolved plan and exit'
complete -c kdc-run -s n -l dry-run -d 'check the plan and stop'
complete -c kdc-run -s w -l workdir -x -a '(__fish_complete_directories)' -d 'directory mounted at /work'
complete -c kdc-run -l ro-bind -r -d 'bind SRC[:DST] read-only'
complete -c kdc-run -l bind -r -d 'bind SRC[:DST] read-write'
complete -c kdc-run -l tmpfs -r -d 'tmpfs at DST[:SIZE]'
complete -c kdc-run -s e -l env -x -a '(set -xn)' -d 'pass NAME or set NAME=VALUE'
complete -c kdc-run -l net -x -a 'none proxy filtered' -d 'network mode'
complete -c kdc-run -l allow -x -d 'allow egress to HOST[:PORT]'
complete -c kdc-run -l memory -x -d 'memory limit'
complete -c kdc-run -l cpu -x -d 'CPU limit in cores'
complete -c kdc-run -l pids -x -d 'process limit'
complete -c kdc-run -s t -l timeout -x -d 'wall-clock limit'
complete -c kdc-run -l json-status -r -d 'write the result as JSON'
complete -c kdc-run -s q -l quiet -d 'print errors only'
complete -c kdc-run -s v -l verbose -d 'say more'
complete -c kdc-run -s h -l help -d 'show help'
complete -c kdc-run -s V -l version -d 'show version'
