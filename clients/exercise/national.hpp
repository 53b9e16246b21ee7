// A national exercise, generated: every police force with its Special Branch,
// CTIO and BCU commander, the regional CT units, hundreds of councils (chief
// executive and Prevent lead) and thousands of neighbourhood policing teams,
// with a need-to-share policy and a scenario: a national threat-level change,
// regional CT problem profiles to councils, arrests in some areas, tension
// reports flowing up from every neighbourhood and feedback flowing back.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace icegate::exercise {

struct NationalParameters {
  std::size_t forces = 43;           // England and Wales
  std::size_t regions = 11;          // CT units / CTIUs
  std::size_t councils = 300;
  std::size_t neighbourhoods = 3000;
  std::size_t arrests = 5;           // forces where an operation takes place
  // The most recipients one message names: the originator's Receipt reports
  // each one and must fit a frame (1 MiB). Beyond it the national assessment
  // goes out in parts (tests set it low to run that path small).
  std::size_t most_recipients = 400;
};

struct NationalExercise {
  std::string policy_yaml;    // refers to schemes/gpms-2008.yaml beside it
  std::string scenario_yaml;  // refers to national-policy.yaml beside it
  std::size_t nodes = 0;
  std::size_t injects = 0;
  std::size_t responses = 0;
};

NationalExercise generate_national(const NationalParameters& parameters);

// Writes DIR/national-policy.yaml, DIR/national.yaml and DIR/schemes/gpms-2008.yaml:
// a copy of `scheme`, or when it is empty the GPMS 2008 scheme built into
// icegate at compile time, so that an installed binary needs no source tree.
void write_national(const NationalExercise& exercise, const std::filesystem::path& dir,
                    const std::filesystem::path& scheme = {});

}  // namespace icegate::exercise
