# Embed a text file as a C string: -DIN=file -DNAME=identifier -DOUT=header.
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT}.tmp "/* generated from ${IN} by cmake/embed_text.cmake */\nstatic const char ${NAME}[] =\n\"${text}\";\n")
file(RENAME ${OUT}.tmp ${OUT})
