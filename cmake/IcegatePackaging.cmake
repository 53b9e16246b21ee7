# Install rules and the Debian package (CPack), included from the top-level
# CMakeLists.txt once every target exists.
#
# Layout (GNUInstallDirs; the .deb installs under /usr):
#   bin/icegate                          the production binary only (no tests,
#                                        no benchmarks)
#   share/icegate/policies/              policies, schemes, JSON Schemas, policy
#                                        tests, SPIF files, demo message
#   share/icegate/scenarios/             the exercises and their CSV injects
#   share/doc/icegate/                   README.md, docs/, and the policies,
#                                        scenarios and proto READMEs, in the
#                                        source tree's layout so that links
#                                        between them still work
#   share/man/man1/icegate.1             made from `icegate --help` by help2man
#
# policies/ and scenarios/ stay siblings under share/icegate/ because the files
# name each other relatively: a scenario's `policy: ../policies/x.yaml`, a
# policy's `scheme: schemes/y.yaml`, a policy test's `policy: ../x.yaml`.
include(GNUInstallDirs)

install(TARGETS icegate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(ICEGATE_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/icegate)
# The READMEs go to the documentation directory instead (below).
# A pki/ folder is what `icegate pki init` made for trying the federation
# example in place (policies/README.md, `peers`): it holds CA keys. Never shipped.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/policies ${PROJECT_SOURCE_DIR}/scenarios
        DESTINATION ${ICEGATE_INSTALL_DATADIR}
        PATTERN README.md EXCLUDE
        PATTERN .gitignore EXCLUDE
        PATTERN pki EXCLUDE)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs DESTINATION ${CMAKE_INSTALL_DOCDIR})
foreach(readme policies scenarios proto)
  install(FILES ${PROJECT_SOURCE_DIR}/${readme}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/${readme})
endforeach()

# The man page is generated (with the EXAMPLES and FILES sections in
# cmake/icegate.h2m) into the build tree at build time, never kept in
# the source tree, so it cannot drift from --help. Without help2man (it is in
# tools/debian-packages.txt) the build goes on without a man page, and the
# package_smoke test says so. Sanitized builds (asan, fuzz) make no man page:
# nobody packages them, and running an instrumented binary at build time would
# only add a way for the build to fail.
find_program(HELP2MAN_PROGRAM help2man)
if(ICEGATE_SANITIZE OR ICEGATE_FUZZ)
  # no man page
elseif(HELP2MAN_PROGRAM)
  set(ICEGATE_MAN_PAGE ${PROJECT_BINARY_DIR}/man/icegate.1)
  add_custom_command(
    OUTPUT ${ICEGATE_MAN_PAGE}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    # help2man fails (and so the build) when `icegate --help` does. The
    # version string is given so the page does not depend on how
    # `icegate --version` words its line.
    COMMAND ${HELP2MAN_PROGRAM} --no-info
            --name "information-sharing gateway simulator"
            --version-string "${PROJECT_VERSION}"
            --include ${CMAKE_CURRENT_LIST_DIR}/icegate.h2m
            --output ${ICEGATE_MAN_PAGE}
            $<TARGET_FILE:icegate>
    DEPENDS icegate ${CMAKE_CURRENT_LIST_DIR}/icegate.h2m
    COMMENT "Generating the icegate(1) man page with help2man"
    VERBATIM)
  add_custom_target(icegate_man_page ALL DEPENDS ${ICEGATE_MAN_PAGE})
  install(FILES ${ICEGATE_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: no icegate(1) man page (install help2man, see tools/debian-packages.txt)")
endif()

# --- the Debian package: cpack --config build/dev/CPackConfig.cmake ----------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME icegate)
set(CPACK_PACKAGE_VENDOR "icegate")
set(CPACK_PACKAGE_CONTACT "icegate maintainers <maintainers@users.noreply.h-seed-3312669d.example>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "information-sharing gateway simulator")
set(CPACK_PACKAGE_DESCRIPTION
    "Networked nodes exchange Protocol Buffers messages over mutual TLS through a gateway
that enforces protective markings, vetting levels and need-to-share rules read from a
policy file. Ships the icegate command, the example policies and their schemes, and
table-top exercise scenarios such as Operation Nicole.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# dpkg-shlibdeps works on Debian 12 and derives Depends from the libraries the
# binary really links (libssl3, libprotobuf32, libyaml-cpp0.7, libsqlite3-0, ...),
# so the list cannot go stale when a dependency changes.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
