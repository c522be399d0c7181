#!/usr/bin/perl
# Writes the networks read from stdin (one CIDR per line) into an MMDB file
# with MaxMind's own writer, so that libmaxminddb can be measured on the very
# indicators the Vigil matcher holds. Usage: write_mmdb.pl OUT.mmdb < networks
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb < networks\n";
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => 'Vigil-Bench-Indicators',
    languages                => ['en'],
    description              => { en => 'Synthetic threat-intelligence indicators' },
    map_key_type_callback    => sub { 'utf8_string' },
    remove_reserved_networks => 0,
    merge_strategy           => 'none',
);
# One shared record, as a feed's metadata would be: the writer stores it once.
my $record = { feed => 'bench', category => 'synthetic' };
my $n = 0;
while (my $line = <STDIN>) {
    chomp $line;
    next if $line eq '';
    $tree->insert_network($line, $record);
    $n++;
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
print STDERR "write_mmdb.pl: $n networks into $out\n";
