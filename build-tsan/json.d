build-tsan/json.o: server/json.c server/common.h server/json.h \
 /usr/include/cjson/cJSON.h
server/common.h:
server/json.h:
/usr/include/cjson/cJSON.h:
