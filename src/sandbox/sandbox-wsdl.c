/*
 * The ?wsdl documents of processxml.asmx and finder.asmx: small but valid
 * WSDL 1.1 (SOAP 1.1 binding, document/literal, the shared Header) so that
 * SOAP tooling can generate a client against the sandbox. The service
 * address is set through the tree API to the sandbox's own base URL.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "kassaboek/xmalloc.h"
#include "sandbox.h"

#define WSDL_HEAD \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>" \
	"<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"" \
	" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\"" \
	" xmlns:s=\"http://www.w3.org/2001/XMLSchema\" xmlns:tns=\"http://www.twinfield.com/\"" \
	" targetNamespace=\"http://www.twinfield.com/\">" \
	"<wsdl:types><s:schema elementFormDefault=\"qualified\" targetNamespace=\"http://www.twinfield.com/\">"

#define WSDL_HEADER_TYPES \
	"<s:element name=\"Header\" type=\"tns:Header\"/>" \
	"<s:complexType name=\"Header\"><s:sequence>" \
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"SessionID\" type=\"s:string\"/>" \
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"AccessToken\" type=\"s:string\"/>" \
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"CompanyCode\" type=\"s:string\"/>" \
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"CompanyId\" nillable=\"true\" type=\"s:string\"/>" \
	"</s:sequence><s:anyAttribute/></s:complexType>" \
	"</s:schema></wsdl:types>"

static const char wsdl_processxml[] =
	WSDL_HEAD
	"<s:element name=\"ProcessXmlString\"><s:complexType><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"xmlRequest\" type=\"s:string\"/>"
	"</s:sequence></s:complexType></s:element>"
	"<s:element name=\"ProcessXmlStringResponse\"><s:complexType><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"ProcessXmlStringResult\" type=\"s:string\"/>"
	"</s:sequence></s:complexType></s:element>"
	WSDL_HEADER_TYPES
	"<wsdl:message name=\"ProcessXmlStringSoapIn\"><wsdl:part name=\"parameters\" element=\"tns:ProcessXmlString\"/></wsdl:message>"
	"<wsdl:message name=\"ProcessXmlStringSoapOut\"><wsdl:part name=\"parameters\" element=\"tns:ProcessXmlStringResponse\"/></wsdl:message>"
	"<wsdl:message name=\"ProcessXmlStringHeader\"><wsdl:part name=\"Header\" element=\"tns:Header\"/></wsdl:message>"
	"<wsdl:portType name=\"ProcessXmlSoap\"><wsdl:operation name=\"ProcessXmlString\">"
	"<wsdl:input message=\"tns:ProcessXmlStringSoapIn\"/><wsdl:output message=\"tns:ProcessXmlStringSoapOut\"/>"
	"</wsdl:operation></wsdl:portType>"
	"<wsdl:binding name=\"ProcessXmlSoap\" type=\"tns:ProcessXmlSoap\">"
	"<soap:binding transport=\"http://schemas.xmlsoap.org/soap/http\"/>"
	"<wsdl:operation name=\"ProcessXmlString\">"
	"<soap:operation soapAction=\"http://www.twinfield.com/ProcessXmlString\" style=\"document\"/>"
	"<wsdl:input><soap:body use=\"literal\"/><soap:header message=\"tns:ProcessXmlStringHeader\" part=\"Header\" use=\"literal\"/></wsdl:input>"
	"<wsdl:output><soap:body use=\"literal\"/></wsdl:output>"
	"</wsdl:operation></wsdl:binding>"
	"<wsdl:service name=\"ProcessXml\"><wsdl:port name=\"ProcessXmlSoap\" binding=\"tns:ProcessXmlSoap\">"
	"<soap:address location=\"\"/></wsdl:port></wsdl:service>"
	"</wsdl:definitions>";

static const char wsdl_finder[] =
	WSDL_HEAD
	"<s:element name=\"Search\"><s:complexType><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"type\" type=\"s:string\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"pattern\" type=\"s:string\"/>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"field\" type=\"s:int\"/>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"firstRow\" type=\"s:int\"/>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"maxRows\" type=\"s:int\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"options\" type=\"tns:ArrayOfArrayOfString\"/>"
	"</s:sequence></s:complexType></s:element>"
	"<s:complexType name=\"ArrayOfArrayOfString\"><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"unbounded\" name=\"ArrayOfString\" nillable=\"true\" type=\"tns:ArrayOfString\"/>"
	"</s:sequence></s:complexType>"
	"<s:complexType name=\"ArrayOfString\"><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"unbounded\" name=\"string\" nillable=\"true\" type=\"s:string\"/>"
	"</s:sequence></s:complexType>"
	"<s:element name=\"SearchResponse\"><s:complexType><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"SearchResult\" type=\"tns:ArrayOfMessageOfErrorCodes\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"data\" type=\"tns:FinderData\"/>"
	"</s:sequence></s:complexType></s:element>"
	"<s:complexType name=\"ArrayOfMessageOfErrorCodes\"><s:sequence>"
	"<s:element minOccurs=\"0\" maxOccurs=\"unbounded\" name=\"MessageOfErrorCodes\" nillable=\"true\" type=\"tns:MessageOfErrorCodes\"/>"
	"</s:sequence></s:complexType>"
	"<s:complexType name=\"MessageOfErrorCodes\"><s:sequence>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"Type\" type=\"s:string\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"Text\" type=\"s:string\"/>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"Code\" type=\"s:string\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"Parameters\" type=\"tns:ArrayOfString\"/>"
	"</s:sequence></s:complexType>"
	"<s:complexType name=\"FinderData\"><s:sequence>"
	"<s:element minOccurs=\"1\" maxOccurs=\"1\" name=\"TotalRows\" type=\"s:int\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"Columns\" type=\"tns:ArrayOfString\"/>"
	"<s:element minOccurs=\"0\" maxOccurs=\"1\" name=\"Items\" type=\"tns:ArrayOfArrayOfString\"/>"
	"</s:sequence></s:complexType>"
	WSDL_HEADER_TYPES
	"<wsdl:message name=\"SearchSoapIn\"><wsdl:part name=\"parameters\" element=\"tns:Search\"/></wsdl:message>"
	"<wsdl:message name=\"SearchSoapOut\"><wsdl:part name=\"parameters\" element=\"tns:SearchResponse\"/></wsdl:message>"
	"<wsdl:message name=\"SearchHeader\"><wsdl:part name=\"Header\" element=\"tns:Header\"/></wsdl:message>"
	"<wsdl:portType name=\"FinderSoap\"><wsdl:operation name=\"Search\">"
	"<wsdl:input message=\"tns:SearchSoapIn\"/><wsdl:output message=\"tns:SearchSoapOut\"/>"
	"</wsdl:operation></wsdl:portType>"
	"<wsdl:binding name=\"FinderSoap\" type=\"tns:FinderSoap\">"
	"<soap:binding transport=\"http://schemas.xmlsoap.org/soap/http\"/>"
	"<wsdl:operation name=\"Search\">"
	"<soap:operation soapAction=\"http://www.twinfield.com/Search\" style=\"document\"/>"
	"<wsdl:input><soap:body use=\"literal\"/><soap:header message=\"tns:SearchHeader\" part=\"Header\" use=\"literal\"/></wsdl:input>"
	"<wsdl:output><soap:body use=\"literal\"/></wsdl:output>"
	"</wsdl:operation></wsdl:binding>"
	"<wsdl:service name=\"Finder\"><wsdl:port name=\"FinderSoap\" binding=\"tns:FinderSoap\">"
	"<soap:address location=\"\"/></wsdl:port></wsdl:service>"
	"</wsdl:definitions>";

char *
sb_wsdl_build(int finder, const char *base)
{
	const char	*tmpl = finder ? wsdl_finder : wsdl_processxml;
	xmlDocPtr	 doc;
	xmlNodePtr	 addr;
	xmlChar		*buf = NULL;
	char		 cause[128], *loc, *out;
	int		 len = 0;

	doc = sb_x_parse(tmpl, strlen(tmpl), cause, sizeof cause);
	if (doc == NULL)
		return (xstrdup(""));	/* cannot happen: the templates are constant */
	addr = sb_x_child(sb_x_child(sb_x_child(xmlDocGetRootElement(doc), "service"), "port"), "address");
	loc = xasprintf("%s/webservices/%s.asmx", base, finder ? "finder" : "processxml");
	if (addr != NULL)
		sb_x_set_prop(addr, "location", loc);
	free(loc);
	xmlDocDumpMemoryEnc(doc, &buf, &len, "utf-8");
	out = xstrndup((const char *)buf, (size_t)len);
	xmlFree(buf);
	xmlFreeDoc(doc);
	return (out);
}
