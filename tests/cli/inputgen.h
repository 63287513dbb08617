/* mldtest's input-limit helpers: zip bombs, peak memory, deep protobufs (inputgen.c). */
#ifndef MLD_TEST_INPUTGEN_H
#define MLD_TEST_INPUTGEN_H

int ig_mkbomb(int argc, char **argv);
int ig_maxrss(int argc, char **argv);
int ig_mkdeep(int argc, char **argv);
int ig_ops(int argc, char **argv);
int ig_depfile(int argc, char **argv);

#endif
